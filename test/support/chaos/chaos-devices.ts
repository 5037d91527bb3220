// Device chaos: events over a partitioned hub into replicas that are SIGKILLed/SIGTERMed while Cosmos goes away once.
import { setTimeout as delay } from "node:timers/promises";
import { EventHubProducerClient } from "@azure/event-hubs";
import type { QueueClient } from "@azure/storage-queue";
import { startEventHubsEmulator } from "../../../dev/eventhubs-emulator/index.ts";
import { CONSUMER_GROUP, DeviceTestProbe, FAST_WORKER_ENV, HUB } from "../device-fixture.ts";
import { createTestEnv } from "../stack.ts";
import { deadLetterMessage } from "../../../workers/device-ingest/dead-letter-message.ts";
import { FaultLog, type ChaosResult, type InvariantResult } from "./chaos-report.ts";
import { RoleRunner, type RoleExit } from "../role-runner.ts";
import { SeededRandom } from "../seeded-random.ts";
import { TcpFaultProxy } from "../tcp-fault-proxy.ts";

export interface DeviceChaosOptions {
  events: number;
  partitions: number;
  replicas: number;
  /** Every n-th event is invalid (bad JSON, no deviceId, or not the schema), in rotation. */
  invalidEvery: number;
  /** Signals sent to replicas during the run, in order (each replica restarted after it exits, as Kubernetes would). */
  replicaFaults: NodeJS.Signals[];
  /** How long Cosmos is unreachable once during the run (0: never). */
  cosmosOutageMs: number;
  /** Events sent per second. */
  ratePerSecond: number;
  seed: number;
  settleTimeoutMs: number;
  progress?: (line: string) => void;
}

const DEVICES = 40;
const CHUNK = 500;
const RESTART_BACKOFF_MS = 1000;

interface SentEvent {
  index: number;
  deviceId: string;
  valid: boolean;
  /** The document id when the event has an eventId; events without one get an id derived from their position. */
  documentId?: string;
  body: string;
}

function makeEvent(prefix: string, index: number, invalidEvery: number): SentEvent {
  const deviceId = `${prefix}-d${index % DEVICES}`;
  const ts = new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString();
  if (invalidEvery > 0 && index % invalidEvery === invalidEvery - 1) {
    const kind = Math.floor(index / invalidEvery) % 3;
    const marker = `inv-${index}`;
    const body =
      kind === 0
        ? `{"deviceId":"${deviceId}","marker":"${marker}",`
        : kind === 1
          ? JSON.stringify({ marker, type: "telemetry", ts, payload: { i: index } })
          : JSON.stringify({ deviceId, marker, type: "bogus", ts, payload: { i: index } });
    return { index, deviceId, valid: false, body };
  }
  // One valid event in ten has no eventId: its id comes from partition and sequence number.
  const eventId = index % 10 === 3 ? undefined : `${prefix}-e${index}`;
  const body = JSON.stringify({
    deviceId,
    ...(eventId ? { eventId } : {}),
    type: "telemetry",
    ts,
    payload: { i: index, temperature: 20 + (index % 7) },
  });
  return { index, deviceId, valid: true, ...(eventId ? { documentId: `${deviceId}:${eventId}` } : {}), body };
}

async function sendChunk(producer: EventHubProducerClient, events: SentEvent[]): Promise<void> {
  const byDevice = new Map<string, SentEvent[]>();
  for (const e of events) byDevice.set(e.deviceId, [...(byDevice.get(e.deviceId) ?? []), e]);
  await Promise.all(
    [...byDevice].map(async ([deviceId, list]) => {
      let batch = await producer.createBatch({ partitionKey: deviceId });
      for (const e of list) {
        const data = { body: Buffer.from(e.body, "utf8") };
        if (!batch.tryAdd(data)) {
          await producer.sendBatch(batch);
          batch = await producer.createBatch({ partitionKey: deviceId });
          batch.tryAdd(data);
        }
      }
      if (batch.count > 0) await producer.sendBatch(batch);
    }),
  );
}

/** Every message in the queue, received (hidden for ten minutes) so all of them can be read once. */
async function receiveAll(queue: QueueClient): Promise<{ messageText: string; messageId: string }[]> {
  const out: { messageText: string; messageId: string }[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 600,
    });
    if (receivedMessageItems.length === 0) return out;
    out.push(...receivedMessageItems);
  }
}

export async function runDeviceChaos(options: DeviceChaosOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  const runStarted = performance.now();
  let faults = new FaultLog();
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: HUB, partitions: options.partitions, consumerGroups: [CONSUMER_GROUP] }],
  });
  const base = await createTestEnv({ aws: false, azure: true });
  const direct: Record<string, string> = {
    ...base,
    EVENTHUB_CONNECTION_STRING: emulator.connectionString(HUB),
    EVENTHUB_NAME: HUB,
    EVENTHUB_CONSUMER_GROUP: CONSUMER_GROUP,
    ...FAST_WORKER_ENV,
    DEVICE_INGEST_BATCH_SIZE: "250",
  };
  const cosmosUrl = new URL(base.COSMOS_ENDPOINT!);
  const proxy = new TcpFaultProxy(Number(cosmosUrl.port));
  await proxy.up();
  // The replicas reach Cosmos through the proxy; the checks read it directly.
  const replicaEnv = { ...direct, COSMOS_ENDPOINT: `https://127.0.0.1:${proxy.port}/` };
  const probe = new DeviceTestProbe(direct);
  const producer = new EventHubProducerClient(direct.EVENTHUB_CONNECTION_STRING!, HUB);
  const replicas = Array.from(
    { length: options.replicas },
    (_, i) =>
      new RoleRunner({ name: `device-ingest-${i + 1}`, args: ["worker", "device-ingest"], env: replicaEnv }),
  );
  const sigtermExits: Array<{ target: string; exit: RoleExit }> = [];
  const prefix = base.EVENTFLEET_ENV!;
  const sent: SentEvent[] = Array.from({ length: options.events }, (_, i) =>
    makeEvent(prefix, i, options.invalidEvery),
  );

  try {
    for (const replica of replicas) await replica.start();
    await Promise.all(replicas.map((r) => r.waitReady()));
    say(`devices: ${replicas.length} replicas ready (env ${prefix})`);

    const started = performance.now();
    faults = new FaultLog();
    const windowMs = (options.events / options.ratePerSecond) * 1000;
    const slots = options.replicaFaults.length + (options.cosmosOutageMs > 0 ? 1 : 0) + 1;
    const busy = new Set<RoleRunner>();
    const replicaFault = async (signal: NodeJS.Signals, slot: number) => {
      const choice = random.next();
      await delay(Math.max(0, started + (windowMs * slot) / slots - performance.now()));
      const candidates = replicas.filter((r) => r.running && !busy.has(r));
      const victim = candidates[Math.floor(choice * candidates.length)]!;
      busy.add(victim);
      const downAt = performance.now();
      const faultAt = faults.elapsedMs();
      const exit = await victim.stop(signal, 30_000);
      if (signal === "SIGTERM") sigtermExits.push({ target: victim.name, exit });
      await delay(RESTART_BACKOFF_MS);
      await victim.start();
      await victim.waitReady();
      busy.delete(victim);
      faults.record(
        signal,
        victim.name,
        `exit ${exit.code ?? exit.signal}; ready again after ${((performance.now() - downAt) / 1000).toFixed(1)} s`,
        faultAt,
      );
      say(`devices: ${signal} ${victim.name}`);
    };
    const cosmosOutage = async (slot: number) => {
      await delay(Math.max(0, started + (windowMs * slot) / slots - performance.now()));
      const faultAt = faults.elapsedMs();
      await proxy.down();
      say("devices: Cosmos down");
      await delay(options.cosmosOutageMs);
      await proxy.up();
      faults.record(
        "outage",
        "cosmos",
        `unreachable for ${(options.cosmosOutageMs / 1000).toFixed(1)} s (connections reset, then refused)`,
        faultAt,
      );
      say("devices: Cosmos back");
    };
    const faultDriver = Promise.all([
      ...options.replicaFaults.map((signal, k) => replicaFault(signal, k + 1)),
      ...(options.cosmosOutageMs > 0 ? [cosmosOutage(options.replicaFaults.length + 1)] : []),
    ]);

    for (let i = 0; i < sent.length; i += CHUNK) {
      await delay(Math.max(0, started + (i * 1000) / options.ratePerSecond - performance.now()));
      await sendChunk(producer, sent.slice(i, i + CHUNK));
      if ((i / CHUNK) % 10 === 0) say(`devices: sent ${i + Math.min(CHUNK, sent.length - i)}/${sent.length}`);
    }
    await faultDriver;
    const validCount = sent.filter((e) => e.valid).length;
    say(`devices: all sent; waiting for ${validCount} documents and checkpoints`);

    const last = await probe.lastSequenceNumbers();
    const deadline = Date.now() + options.settleTimeoutMs;
    for (;;) {
      const count = (await probe.telemetry.items.query<number>("SELECT VALUE COUNT(1) FROM c").fetchAll())
        .resources[0];
      const checkpoints = await probe.checkpointedSequences();
      const caughtUp = Object.entries(last).every(([p, seq]) => checkpoints[p] === seq);
      if ((count ?? 0) >= validCount && caughtUp) break;
      if (Date.now() > deadline) {
        say(
          `devices: not settled: ${count}/${validCount} documents, checkpoints ${JSON.stringify(checkpoints)}`,
        );
        break;
      }
      await delay(1000);
    }

    const invariants: InvariantResult[] = [];
    const check = (name: string, checked: number, violations: string[]) =>
      invariants.push({ name, checked, violations });

    const { resources: docs } = await probe.telemetry.items
      .query<{ id: string; i: number | undefined }>("SELECT c.id, c.payload.i AS i FROM c")
      .fetchAll();
    const docsByIndex = new Map<number, string[]>();
    const foreign: string[] = [];
    for (const doc of docs) {
      const event = doc.i === undefined ? undefined : sent[doc.i];
      if (!event || !event.valid || (event.documentId !== undefined && event.documentId !== doc.id)) {
        foreign.push(doc.id);
        continue;
      }
      docsByIndex.set(doc.i!, [...(docsByIndex.get(doc.i!) ?? []), doc.id]);
    }
    const validEvents = sent.filter((e) => e.valid);
    check(
      "every valid event in Cosmos exactly once",
      validEvents.length,
      validEvents
        .filter((e) => (docsByIndex.get(e.index)?.length ?? 0) !== 1)
        .map(
          (e) =>
            `${e.documentId ?? `${e.deviceId} #${e.index}`}: ${docsByIndex.get(e.index)?.length ?? 0} documents`,
        ),
    );
    check("no other documents in Cosmos", docs.length, foreign);

    const letters = await receiveAll(probe.queue);
    const markerCounts = new Map<string, number>();
    const unexpectedLetters: string[] = [];
    const positions = new Set<string>();
    let duplicateLetters = 0;
    for (const letter of letters) {
      const parsed = deadLetterMessage.safeParse(JSON.parse(letter.messageText));
      if (!parsed.success) {
        unexpectedLetters.push(`${letter.messageId}: not a dead-letter message`);
        continue;
      }
      const message = parsed.data;
      const position = `${message.partitionId}/${message.sequenceNumber}`;
      if (positions.has(position)) duplicateLetters += 1;
      positions.add(position);
      const text = message.body.location === "inline" ? message.body.data : "";
      const marker = /"marker":"(inv-\d+)"/.exec(text)?.[1];
      if (!marker) {
        unexpectedLetters.push(`${position} ${message.reason}: ${text.slice(0, 80)}`);
        continue;
      }
      markerCounts.set(marker, (markerCounts.get(marker) ?? 0) + 1);
    }
    const invalidEvents = sent.filter((e) => !e.valid);
    check(
      "every invalid event in the dead-letter queue",
      invalidEvents.length,
      invalidEvents
        .filter((e) => !markerCounts.has(`inv-${e.index}`))
        .map((e) => `inv-${e.index} (${e.deviceId})`),
    );
    check("nothing else in the dead-letter queue", letters.length, unexpectedLetters);

    const { resources: devices } = await probe.devices.items
      .query<{ id: string }>("SELECT c.id FROM c")
      .fetchAll();
    const expectedDevices = new Set(validEvents.map((e) => e.deviceId));
    const deviceIds = new Set(devices.map((d) => d.id));
    check("one state document per device with valid events", expectedDevices.size, [
      ...[...expectedDevices].filter((d) => !deviceIds.has(d)).map((d) => `${d} missing`),
      ...[...deviceIds].filter((d) => !expectedDevices.has(d)).map((d) => `${d} unexpected`),
    ]);
    const checkpoints = await probe.checkpointedSequences();
    check(
      "every partition checkpointed at its last event",
      Object.keys(last).length,
      Object.entries(last)
        .filter(([p, seq]) => checkpoints[p] !== seq)
        .map(([p, seq]) => `partition ${p}: checkpoint ${checkpoints[p]} of ${seq}`),
    );
    check(
      "SIGTERMed replicas exited 0",
      sigtermExits.length,
      sigtermExits
        .filter((s) => s.exit.code !== 0)
        .map((s) => `${s.target}: ${s.exit.code ?? s.exit.signal}`),
    );

    return {
      scenario: "Devices",
      parameters: {
        events: options.events,
        partitions: options.partitions,
        replicas: options.replicas,
        invalidEvery: options.invalidEvery,
        replicaFaults: options.replicaFaults.join("+") || "none",
        cosmosOutageMs: options.cosmosOutageMs,
        ratePerSecond: options.ratePerSecond,
        seed: options.seed,
      },
      durationMs: performance.now() - runStarted,
      faults: faults.faults,
      counts: {
        sent: sent.length,
        valid: validEvents.length,
        invalid: invalidEvents.length,
        documents: docs.length,
        deadLetters: letters.length,
        "dead letters repeated for the same position (redelivery after a kill)": duplicateLetters,
        replicaRestarts: replicas.reduce((n, r) => n + r.starts - 1, 0),
      },
      invariants,
    };
  } finally {
    await Promise.all(replicas.map((r) => r.stop("SIGTERM", 20_000)));
    await producer.close();
    await probe.close();
    await proxy.close();
    await emulator.close();
  }
}
