// Device ingest throughput, emulator → Cosmos: bulk upserts against per-event upserts, same run, same events.
// The Event Hubs emulator runs in a child process, so this process's CPU is the worker's (our code plus the SDKs).
// CPU µs per event in our code alone: the batch path (decode, validate, build documents) with the I/O stubbed out.
import { fork } from "node:child_process";
import type { Container, OperationInput } from "@azure/cosmos";
import { EventHubProducerClient } from "@azure/event-hubs";
import { pino } from "pino";
import { Registry } from "prom-client";
import { startEventHubsEmulator } from "../dev/eventhubs-emulator/index.ts";
import { parseEnv, processEnv } from "../shared/config.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { composeDeviceIngest } from "../workers/device-ingest/compose.ts";
import { deviceIngestEnv } from "../workers/device-ingest/config.ts";
import type { WriteMode } from "../workers/device-ingest/cosmos-operations.ts";
import { DeviceStore } from "../workers/device-ingest/device-store.ts";
import { ingestBatch, type ReceivedBody } from "../workers/device-ingest/ingest-batch.ts";
import { createIngestMetrics } from "../workers/device-ingest/ingest-metrics.ts";

const EVENTS = Number(process.env.BENCH_DEVICE_EVENTS ?? 20_000);
const DEVICES = 200;
const PARTITIONS = 4;
const HUB = "telemetry";
const MODES: WriteMode[] = ["bulk", "per-event"];
/** Alternating rounds per mode; the medians are reported (the machine is shared, single runs are noisy). */
const ROUNDS = Number(process.env.BENCH_DEVICE_ROUNDS ?? 3);
const consumerGroup = (mode: WriteMode, round: number) => `${mode}-${round}`;
const CHILD = "BENCH_DEVICE_INGEST_EMULATOR_CHILD";

export interface DeviceIngestBenchResult {
  name: string;
  events: number;
  bulkEventsPerSecond: number;
  perEventEventsPerSecond: number;
  /** bulk events/s ÷ per-event events/s (goal ≥ 3). */
  bulkOverPerEvent: number;
  /** CPU of this process (worker + SDKs) per event stored, bulk mode. */
  processCpuMicrosPerEvent: number;
  /** CPU in our batch code per event, Cosmos stubbed (goal ≤ 50). */
  ourCpuMicrosPerEvent: number;
  /** Our code's share of the process CPU per event. */
  ourShareOfProcessCpu: number;
  markdown: string;
}

function body(i: number): Buffer {
  const deviceId = `bench-${i % DEVICES}`;
  return Buffer.from(
    JSON.stringify({
      deviceId,
      eventId: `e${i}`,
      type: "telemetry",
      ts: new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(),
      payload: { temperatureC: 20 + (i % 50) / 10, humidityPct: 40 + (i % 20), batteryPct: 90 },
    }),
  );
}

/** The emulator child: start, report the port, fill the hub, stay until killed. */
async function emulatorChild(): Promise<void> {
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [
      {
        name: HUB,
        partitions: PARTITIONS,
        consumerGroups: MODES.flatMap((mode) =>
          Array.from({ length: ROUNDS }, (_, r) => consumerGroup(mode, r)),
        ),
      },
    ],
  });
  process.send!({ port: emulator.port, connectionString: emulator.connectionString(HUB) });
}

async function fillHub(connectionString: string): Promise<void> {
  const producer = new EventHubProducerClient(connectionString, HUB);
  const byDevice = new Map<string, Buffer[]>();
  for (let i = 0; i < EVENTS; i += 1) {
    const key = `bench-${i % DEVICES}`;
    byDevice.set(key, [...(byDevice.get(key) ?? []), body(i)]);
  }
  for (const [partitionKey, bodies] of byDevice) {
    await producer.sendBatch(
      bodies.map((b) => ({ body: b })),
      { partitionKey },
    );
  }
  await producer.close();
}

interface ModeMeasurement {
  mode: WriteMode;
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
}

async function measureMode(
  mode: WriteMode,
  round: number,
  connectionString: string,
): Promise<ModeMeasurement> {
  const env = {
    ...(await createTestEnv({ aws: false, azure: true })),
    EVENTHUB_CONNECTION_STRING: connectionString,
    EVENTHUB_NAME: HUB,
    EVENTHUB_CONSUMER_GROUP: consumerGroup(mode, round),
    LOG_LEVEL: "warn",
  };
  const registry = new Registry();
  const worker = composeDeviceIngest(parseEnv({ ...processEnv, ...deviceIngestEnv }, env), {
    logger: pino({ level: "warn" }),
    registry,
    overrides: {
      writeMode: mode,
      maxBatchSize: 500,
      maxWaitMs: 200,
      loadBalancing: "greedy",
      loadBalancingIntervalMs: 500,
      ownershipExpiryMs: 5000,
    },
  });
  const stored = async () => {
    const metric = await registry.getSingleMetric("eventfleet_eventhub_events_total")?.get();
    return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  };
  worker.start();
  // Time from the first stored event to the last, so claiming partitions is not counted.
  const firstAt = await waitFor(async () => ((await stored()) > 0 ? performance.now() : false), {
    timeoutMs: 120_000,
    intervalMs: 10,
    description: `${mode}: first event stored`,
  });
  const firstCount = await stored();
  const cpuBefore = process.cpuUsage();
  await waitFor(async () => (await stored()) >= EVENTS, {
    timeoutMs: 600_000,
    intervalMs: 20,
    description: `${mode}: all ${EVENTS} events stored`,
  });
  const seconds = (performance.now() - firstAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await worker.stop();
  return {
    mode,
    eventsPerSecond: (EVENTS - firstCount) / seconds,
    cpuMicrosPerEvent: (cpu.user + cpu.system) / (EVENTS - firstCount),
  };
}

/** CPU per event of our batch path alone: decode, validate, documents, bulk operations and results; Cosmos stubbed. */
async function ourCpuPerEvent(): Promise<number> {
  const batch: ReceivedBody[] = Array.from({ length: 500 }, (_, i) => ({
    bytes: body(i),
    position: { partitionId: "0", sequenceNumber: i, offset: String(i * 200), enqueuedTime: new Date() },
  }));
  // Cosmos answers at once: reads find nothing (so device states are created), writes succeed.
  const instant = {
    items: {
      bulk: (ops: OperationInput[]) =>
        Promise.resolve(
          ops.map((op) => ({
            statusCode: op.operationType === "Read" ? 404 : 200,
            requestCharge: 1,
            eTag: "e",
          })),
        ),
    },
  } as unknown as Container;
  const store = new DeviceStore({
    telemetry: instant,
    devices: instant,
    mode: "bulk",
    backoff: { baseMs: 1, maxMs: 1 },
    metrics: createIngestMetrics(new Registry()),
    logger: pino({ level: "silent" }),
  });
  const deps = { store, deadLetters: { send: () => Promise.resolve() }, maxEventBytes: 256 * 1024 };
  const signal = new AbortController().signal;
  for (let i = 0; i < 20; i += 1) await ingestBatch(batch, deps, signal); // warm up
  const rounds = 200;
  const before = process.cpuUsage();
  for (let i = 0; i < rounds; i += 1) await ingestBatch(batch, deps, signal);
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / (rounds * batch.length);
}

export async function run(
  progress: (line: string) => void = () => undefined,
): Promise<DeviceIngestBenchResult> {
  const child = fork(import.meta.filename, [], { env: { ...process.env, [CHILD]: "1" }, stdio: "inherit" });
  try {
    const { connectionString } = await new Promise<{ connectionString: string }>((resolve, reject) => {
      child.once("message", (m) => resolve(m as { connectionString: string }));
      child.once("exit", (code) => reject(new Error(`emulator child exited (${code})`)));
    });
    progress(`device-ingest: filling the hub with ${EVENTS} events`);
    await fillHub(connectionString);
    const rounds: ModeMeasurement[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const mode of MODES) {
        progress(`device-ingest: round ${round + 1}/${ROUNDS}, ${mode} writes`);
        rounds.push(await measureMode(mode, round, connectionString));
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const measured: ModeMeasurement[] = MODES.map((mode) => {
      const of = rounds.filter((m) => m.mode === mode);
      return {
        mode,
        eventsPerSecond: median(of.map((m) => m.eventsPerSecond)),
        cpuMicrosPerEvent: median(of.map((m) => m.cpuMicrosPerEvent)),
      };
    });
    const [bulk, perEvent] = measured as [ModeMeasurement, ModeMeasurement];
    const ours = await ourCpuPerEvent();
    const result = {
      name: "device-ingest",
      events: EVENTS,
      bulkEventsPerSecond: bulk.eventsPerSecond,
      perEventEventsPerSecond: perEvent.eventsPerSecond,
      bulkOverPerEvent: bulk.eventsPerSecond / perEvent.eventsPerSecond,
      processCpuMicrosPerEvent: bulk.cpuMicrosPerEvent,
      ourCpuMicrosPerEvent: ours,
      ourShareOfProcessCpu: ours / bulk.cpuMicrosPerEvent,
    };
    const markdown = [
      `### device-ingest: Event Hubs emulator → Cosmos emulator (${EVENTS} events, ${DEVICES} devices, ` +
        `${PARTITIONS} partitions; medians of ${ROUNDS} alternating rounds)`,
      "",
      "| write mode | events/s | process CPU µs/event | vs per-event |",
      "|---|---:|---:|---:|",
      ...measured.map(
        (m) =>
          `| ${m.mode} | ${m.eventsPerSecond.toFixed(0)} | ${m.cpuMicrosPerEvent.toFixed(0)} | ` +
          `${(m.eventsPerSecond / perEvent.eventsPerSecond).toFixed(2)}× |`,
      ),
      "",
      `Our batch code alone (decode, validate, documents, bulk operations; Cosmos answering instantly): ${ours.toFixed(1)} µs CPU per event ` +
        `(${(result.ourShareOfProcessCpu * 100).toFixed(0)}% of the worker process's CPU per event in bulk mode). ` +
        `Goals: bulk ≥ 3× per-event (${result.bulkOverPerEvent.toFixed(2)}×), ≤ 50 µs ours per event.`,
      "",
      "Emulator difference: a point write to the local Cosmos emulator costs about a millisecond and both modes are " +
        "bound by the emulator's single CPU, which narrows the gap; against Azure, each sequential point write " +
        "pays a network round trip, and bulk sends 100 documents per round trip.",
    ].join("\n");
    return { ...result, markdown };
  } finally {
    child.kill("SIGTERM");
  }
}

if (process.env[CHILD]) {
  await emulatorChild();
} else if (import.meta.main) {
  const result = await run();
  process.stdout.write(`${result.markdown}\n`);
  process.exit(0);
}
