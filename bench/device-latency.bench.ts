// Device event latency, enqueued in Event Hubs → document in Cosmos: device-ingest vs a minimal subscribe-and-upsert loop.
import { setTimeout as delay } from "node:timers/promises";
import type { Container } from "@azure/cosmos";
import { EventHubConsumerClient, EventHubProducerClient, latestEventPosition } from "@azure/event-hubs";
import { startEventHubsEmulator } from "../dev/eventhubs-emulator/index.ts";
import { CONSUMER_GROUP, DeviceTestProbe, FAST_WORKER_ENV, HUB } from "../test/support/device-fixture.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { summarize, type LatencySummary } from "./lib/stats.ts";
import { RoleRunner } from "../test/support/role-runner.ts";

const EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 2000);
const RATE = Number(process.env.BENCH_LATENCY_RATE ?? 200);
const POLL_MS = 25;
const DEVICES = 20;

export interface DeviceLatencyResult {
  name: string;
  events: number;
  ratePerSecond: number;
  batchWaitMs: number;
  ingest: LatencySummary;
  baseline: LatencySummary;
  p50Ratio: number;
  p99Ratio: number;
  markdown: string;
}

/** Sends `EVENTS` events at `RATE`/s; event i carries payload.i and, for the measurement, nothing else special. */
async function sendSteadily(producer: EventHubProducerClient, tag: string): Promise<void> {
  const started = performance.now();
  const perTick = Math.max(1, Math.round(RATE / 20));
  for (let i = 0; i < EVENTS; i += perTick) {
    await delay(Math.max(0, started + (i * 1000) / RATE - performance.now()));
    await Promise.all(
      Array.from({ length: Math.min(perTick, EVENTS - i) }, (_, k) => {
        const n = i + k;
        const deviceId = `${tag}-d${n % DEVICES}`;
        return producer.sendBatch(
          [
            {
              body: Buffer.from(
                JSON.stringify({
                  deviceId,
                  eventId: `${tag}-${n}`,
                  type: "telemetry",
                  ts: new Date().toISOString(),
                  payload: { i: n },
                }),
              ),
            },
          ],
          { partitionKey: deviceId },
        );
      }),
    );
  }
}

/** Polls a container for new documents and returns enqueued → seen latencies (ms), one per event. */
async function watch(container: Container, expected: number, timeoutMs: number): Promise<number[]> {
  const seen = new Map<number, number>();
  let low = 0;
  const deadline = Date.now() + timeoutMs;
  while (seen.size < expected && Date.now() < deadline) {
    const { resources } = await container.items
      .query<{ i: number; e: string }>(
        `SELECT c.payload.i AS i, c.enqueuedTime AS e FROM c WHERE c.payload.i >= ${low}`,
      )
      .fetchAll();
    const now = Date.now();
    for (const doc of resources) if (!seen.has(doc.i)) seen.set(doc.i, now - Date.parse(doc.e));
    while (seen.has(low)) low += 1;
    await delay(POLL_MS);
  }
  return [...seen.values()];
}

export async function run(progress: (line: string) => void = () => undefined): Promise<DeviceLatencyResult> {
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: HUB, partitions: 4, consumerGroups: [CONSUMER_GROUP, "baseline"] }],
  });
  const env = {
    ...(await createTestEnv({ aws: false, azure: true })),
    EVENTHUB_CONNECTION_STRING: emulator.connectionString(HUB),
    EVENTHUB_NAME: HUB,
    EVENTHUB_CONSUMER_GROUP: CONSUMER_GROUP,
    // Quick ownership so the replica owns every partition within a second; batching as shipped.
    DEVICE_INGEST_LB_INTERVAL_MS: FAST_WORKER_ENV.DEVICE_INGEST_LB_INTERVAL_MS!,
    DEVICE_INGEST_LOAD_BALANCING: "greedy",
  };
  const batchWaitMs = 1000;
  const probe = new DeviceTestProbe(env);
  const producer = new EventHubProducerClient(env.EVENTHUB_CONNECTION_STRING, HUB);
  const replica = new RoleRunner({ name: "device-ingest", args: ["worker", "device-ingest"], env });
  let ingest: number[];
  let baseline: number[];
  try {
    await replica.start();
    await replica.waitReady();
    await delay(2000);
    progress(`device latency: device-ingest, ${EVENTS} events at ${RATE}/s`);
    const watching = watch(probe.telemetry, EVENTS, 180_000);
    await sendSteadily(producer, "ingest");
    ingest = await watching;
    await replica.stop("SIGTERM", 20_000);

    // The baseline: the transport floor, enqueued → handed to a plain SDK subscriber in this process (no Cosmos).
    const consumer = new EventHubConsumerClient("baseline", env.EVENTHUB_CONNECTION_STRING, HUB);
    const received: number[] = [];
    const subscription = consumer.subscribe(
      {
        processEvents: (events) => {
          const now = Date.now();
          for (const event of events) received.push(now - event.enqueuedTimeUtc.getTime());
          return Promise.resolve();
        },
        processError: () => Promise.resolve(),
      },
      { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1, skipParsingBodyAsJson: true },
    );
    await delay(2000);
    progress(`device latency: baseline, ${EVENTS} events at ${RATE}/s`);
    await sendSteadily(producer, "baseline");
    const deadline = Date.now() + 60_000;
    while (received.length < EVENTS && Date.now() < deadline) await delay(50);
    baseline = received;
    await subscription.close();
    await consumer.close();
  } finally {
    await replica.stop("SIGTERM", 20_000);
    await producer.close();
    await probe.close();
    await emulator.close();
  }
  const a = summarize(ingest);
  const b = summarize(baseline);
  const p50Ratio = Number((a.p50 / b.p50).toFixed(2));
  const p99Ratio = Number((a.p99 / b.p99).toFixed(2));
  const markdown = [
    `### Device event latency, enqueued → in Cosmos (${EVENTS} events at ${RATE}/s over 4 partitions; one replica; observed by polling every ${POLL_MS} ms)`,
    "",
    "| pipeline | events seen | p50 | p99 | max |",
    "|---|---:|---:|---:|---:|",
    `| transport floor: enqueued → delivered to a plain SDK subscriber (baseline) | ${b.count} | ${b.p50} ms | ${b.p99} ms | ${b.max} ms |`,
    `| device-ingest (bulk, DEVICE_INGEST_BATCH_WAIT_MS=${batchWaitMs} as shipped) | ${a.count} | ${a.p50} ms (${p50Ratio}×) | ${a.p99} ms (${p99Ratio}×) | ${a.max} ms |`,
    "",
    "The baseline is what any consumer pays before it can write; device-ingest adds decoding, one bulk write per",
    "received batch and the device-state upsert. Its figures include up to one polling interval of observation delay.",
  ].join("\n");
  return {
    name: "device-latency",
    events: EVENTS,
    ratePerSecond: RATE,
    batchWaitMs,
    ingest: a,
    baseline: b,
    p50Ratio,
    p99Ratio,
    markdown,
  };
}

if (import.meta.main) console.log((await run(console.error)).markdown);
