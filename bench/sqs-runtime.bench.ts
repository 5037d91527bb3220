// Throughput of the SQS worker runtime (no-op handler) against a raw SDK receive/delete loop, same run, same queue.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createSqsClient } from "../shared/aws-clients.ts";
import { orderEvent, type OrderEvent } from "../shared/events/order-events.ts";
import { placedEvent } from "../test/support/order-event-fixtures.ts";
import { withRoundTrip } from "./lib/latency-proxies.ts";
import { startApi, startWorker, stopWorker, type WorkerProcess } from "../test/support/saga-stack.ts";
import { createTestEnv, getStack } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { SqsWorker } from "../workers/sqs-runtime/sqs-worker.ts";

const MESSAGES = Number(process.env.BENCH_SQS_MESSAGES ?? 1500);
const CONCURRENCIES = [1, 4, 8];
const ROUNDS = Number(process.env.BENCH_SQS_ROUNDS ?? 5);
/** Cloud-like round trips added by delaying proxies: SQS in the same region, Redis in the same VPC. */
const SQS_RTT_MS = Number(process.env.BENCH_SQS_RTT_MS ?? 5);
const REDIS_RTT_MS = Number(process.env.BENCH_REDIS_RTT_MS ?? 1);

/**
 * Where the consumer's SQS and Redis are. On this machine both are local, so every request is a fraction of a
 * millisecond and a consumer is bound by its own CPU (shared with the emulators on 2 cores); against AWS each
 * request waits milliseconds on the network, and concurrency is what hides that wait. Both are measured.
 */
interface Network {
  name: "local" | "cloud-like";
  sqsRttMs: number;
  redisRttMs: number;
}

const NETWORKS: Network[] = [
  { name: "local", sqsRttMs: 0, redisRttMs: 0 },
  { name: "cloud-like", sqsRttMs: SQS_RTT_MS, redisRttMs: REDIS_RTT_MS },
];

/** One consumer measurement: throughput, and CPU of this process (the consumer) per message. */
interface Measurement {
  perSecond: number;
  cpuMicrosPerMessage: number;
}

async function measured(count: number, consume: () => Promise<number>): Promise<Measurement> {
  const cpu = process.cpuUsage();
  const perSecond = await consume();
  const used = process.cpuUsage(cpu);
  return { perSecond, cpuMicrosPerMessage: (used.user + used.system) / count };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface SqsRuntimeBenchRow {
  network: Network["name"];
  concurrency: number;
  rawPerSecond: number;
  runtimePerSecond: number;
  /** runtime / raw at the same concurrency. */
  ratio: number;
  /** runtime at this concurrency / raw loop at concurrency 1. */
  ratioToRawAt1: number;
  /** CPU of the consumer process per message (median round). */
  rawCpuMicros: number;
  runtimeCpuMicros: number;
}

export interface SqsRuntimeBenchResult {
  name: string;
  messages: number;
  sqsRttMs: number;
  redisRttMs: number;
  rows: SqsRuntimeBenchRow[];
  /** Absent with --runtime-only. */
  saga?: SagaLatencyResult;
  markdown: string;
}

export async function freshQueue(sqs: SQSClient): Promise<string> {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-${randomUUID().slice(0, 8)}`,
      Attributes: { VisibilityTimeout: "30" },
    }),
  );
  return created.QueueUrl!;
}

export async function fill(sqs: SQSClient, queueUrl: string, count: number): Promise<void> {
  const bodies = Array.from({ length: count }, () => JSON.stringify(placedEvent()));
  const batches: string[][] = [];
  for (let i = 0; i < bodies.length; i += 10) batches.push(bodies.slice(i, i + 10));
  // A few sends at a time: filling is not what is measured.
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(
      batches.slice(i, i + 8).map((batch) =>
        sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((body, j) => ({
              Id: String(j),
              MessageBody: body,
              MessageAttributes: { type: { DataType: "String", StringValue: "order.placed" } },
            })),
          }),
        ),
      ),
    );
  }
  await waitFor(
    async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages"],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages) === count;
    },
    { description: `${count} messages in the bench queue`, timeoutMs: 60_000 },
  );
}

/** The baseline: what a hand-written consumer does: receive 10, parse, delete each, `concurrency` loops. */
async function rawLoop(
  sqs: SQSClient,
  queueUrl: string,
  concurrency: number,
  count: number,
): Promise<number> {
  let done = 0;
  let finished = 0;
  const started = performance.now();
  const loop = async () => {
    while (done < count) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      await Promise.all(
        Messages.map(async (message) => {
          JSON.parse(message.Body ?? "{}");
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
          // The clock stops at the last delete, not when idle loops' long polls return.
          if (++done === count) finished = performance.now();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return count / ((finished - started) / 1000);
}

/** The runtime with a no-op handler: schema check, processed marker in Redis, delete. */
export async function runtime(
  sqs: SQSClient,
  redis: Redis,
  queueUrl: string,
  dlqUrl: string,
  concurrency: number,
  count: number,
): Promise<number> {
  const registry = new Registry();
  const worker = new SqsWorker<OrderEvent>(
    {
      sqs,
      redis,
      logger: pino({ level: "silent" }),
      registry,
      env: `bench${randomUUID().slice(0, 6)}`,
      schema: orderEvent,
      accepts: ["order.placed"],
      handle: () => Promise.resolve(),
    },
    { worker: "bench", queueUrl, deadLetterQueueUrl: dlqUrl, concurrency, waitTimeSeconds: 1 },
  );
  const processed = async () =>
    ((await registry.getSingleMetric("eventfleet_messages_processed_total")?.get())?.values ?? []).reduce(
      (n, v) => n + v.value,
      0,
    );
  const started = performance.now();
  worker.start();
  await waitFor(async () => (await processed()) >= count, {
    description: "the runtime to process every message",
    timeoutMs: 300_000,
    intervalMs: 5,
  });
  const perSecond = count / ((performance.now() - started) / 1000);
  await worker.stop();
  return perSecond;
}

export interface SagaLatencyResult {
  orders: number;
  /** Orders placed per second (paced). */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ordersPerSecond: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Saga latency on the local stack: `eventfleet api` (with relay) and the three workers as processes; orders placed
 * over HTTP by 20 clients at a steady rate; latency = the order's SHIPPED time minus its placement time, from its own history.
 */
export async function runSagaLatency(
  orders = Number(process.env.BENCH_SAGA_ORDERS ?? 1000),
  rate = Number(process.env.BENCH_SAGA_RATE ?? 50),
): Promise<SagaLatencyResult> {
  const env = await createTestEnv({ aws: true });
  const quiet = { LOG_LEVEL: "warn" };
  const api = await startApi(env);
  const workers: WorkerProcess[] = [];
  try {
    for (const name of ["inventory", "shipment", "notification"] as const)
      workers.push(await startWorker(name, env, quiet));
    const sku = `BENCH-${randomUUID().slice(0, 8)}`;
    await fetch(`${api.url}/v1/inventory/${sku}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ available: orders * 2 }),
    });
    const ids: string[] = [];
    const started = performance.now();
    let next = 0;
    const client = async () => {
      while (next < orders) {
        // Paced: order i leaves at i / rate seconds, so latency is measured below saturation, not queueing.
        const due = started + (next * 1000) / rate;
        next++;
        if (due > performance.now()) await delay(due - performance.now());
        const response = await fetch(`${api.url}/v1/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            customerId: "bench",
            items: [{ sku, quantity: 1, unitPriceCents: 100 }],
            currency: "EUR",
            shippingAddress: {
              name: "Bench",
              line1: "1 Loop St",
              city: "Town",
              postalCode: "12345",
              country: "DE",
            },
            contact: { email: "bench@example.com" },
          }),
        });
        ids.push(((await response.json()) as { id: string }).id);
      }
    };
    await Promise.all(Array.from({ length: 20 }, client));
    const latencies: number[] = [];
    await waitFor(
      async () => {
        for (const id of ids.splice(0)) {
          const order = (await (await fetch(`${api.url}/v1/orders/${id}`)).json()) as {
            status: string;
            history: Array<{ stage: string; at: string }>;
          };
          const shipped = order.history.find((h) => h.stage === "SHIPPED");
          const placed = order.history.find((h) => h.stage === "ACKNOWLEDGED");
          if (shipped && placed) latencies.push(Date.parse(shipped.at) - Date.parse(placed.at));
          else ids.push(id);
        }
        return ids.length === 0;
      },
      { description: "every order to ship", timeoutMs: 600_000, intervalMs: 500 },
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      orders,
      rate,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1)!,
      ordersPerSecond: Math.round(orders / elapsed),
    };
  } finally {
    await Promise.all(workers.map((w) => stopWorker(w)));
    api.child.kill("SIGTERM");
    await api.exited;
  }
}

/** A client pair for one network: direct, or through proxies that add the round trips. */
async function clientsFor(
  network: Network,
  env: Record<string, string>,
): Promise<{ sqs: SQSClient; redis: Redis; close: () => Promise<void> }> {
  const stops: Array<() => Promise<void>> = [];
  const via = async (url: string, rttMs: number): Promise<string> => {
    const proxied = await withRoundTrip(url, rttMs);
    stops.push(proxied.stop);
    return proxied.url;
  };
  const sqs = createSqsClient({
    AWS_REGION: env.AWS_REGION ?? "us-east-1",
    AWS_ENDPOINT_URL: await via(env.AWS_ENDPOINT_URL!, network.sqsRttMs),
  });
  // As in the worker role: concurrent commands of one batch share a round trip.
  const redis = new Redis(await via(env.REDIS_URL!, network.redisRttMs), { enableAutoPipelining: true });
  return {
    sqs,
    redis,
    close: async () => {
      sqs.destroy();
      redis.disconnect();
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}

const medianBy = (values: Measurement[], pick: (m: Measurement) => number) => median(values.map(pick));

export async function run(
  progress: (line: string) => void = () => undefined,
): Promise<SqsRuntimeBenchResult> {
  const { env } = await getStack();
  // Queues are filled directly: filling is not what is measured.
  const direct = createSqsClient({
    AWS_REGION: env.AWS_REGION ?? "us-east-1",
    AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL,
  });
  const dlqUrl = await freshQueue(direct);
  const rows: SqsRuntimeBenchRow[] = [];
  try {
    for (const network of NETWORKS) {
      const { sqs, redis, close } = await clientsFor(network, env);
      try {
        let rawAt1 = Number.NaN;
        for (const concurrency of CONCURRENCIES) {
          // Alternate raw and runtime over a few rounds and keep medians: other work on the machine comes and goes.
          const raws: Measurement[] = [];
          const runtimes: Measurement[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            const rawQueue = await freshQueue(direct);
            await fill(direct, rawQueue, MESSAGES);
            raws.push(await measured(MESSAGES, () => rawLoop(sqs, rawQueue, concurrency, MESSAGES)));
            const runtimeQueue = await freshQueue(direct);
            await fill(direct, runtimeQueue, MESSAGES);
            runtimes.push(
              await measured(MESSAGES, () =>
                runtime(sqs, redis, runtimeQueue, dlqUrl, concurrency, MESSAGES),
              ),
            );
          }
          const raw = medianBy(raws, (m) => m.perSecond);
          const rt = medianBy(runtimes, (m) => m.perSecond);
          if (concurrency === 1) rawAt1 = raw;
          rows.push({
            network: network.name,
            concurrency,
            rawPerSecond: Math.round(raw),
            runtimePerSecond: Math.round(rt),
            ratio: Number((rt / raw).toFixed(2)),
            ratioToRawAt1: Number((rt / rawAt1).toFixed(2)),
            rawCpuMicros: Math.round(medianBy(raws, (m) => m.cpuMicrosPerMessage)),
            runtimeCpuMicros: Math.round(medianBy(runtimes, (m) => m.cpuMicrosPerMessage)),
          });
          progress(
            `sqs-runtime ${network.name} concurrency ${concurrency}: runtime ${Math.round(rt)}/s, raw ${Math.round(raw)}/s`,
          );
        }
      } finally {
        await close();
      }
    }
  } finally {
    direct.destroy();
  }
  const table = (network: Network) => [
    "| concurrency | raw loop msg/s | runtime msg/s | runtime / raw (same concurrency) | runtime / raw at 1 | CPU µs/msg raw | CPU µs/msg runtime |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows
      .filter((r) => r.network === network.name)
      .map(
        (r) =>
          `| ${r.concurrency} | ${r.rawPerSecond} | ${r.runtimePerSecond} | ${r.ratio}× | ${r.ratioToRawAt1}× | ${r.rawCpuMicros} | ${r.runtimeCpuMicros} |`,
      ),
  ];
  const markdown = [
    `### SQS worker runtime vs raw SDK loop (${MESSAGES} messages per measurement, median of ${ROUNDS} alternating rounds, fauxqs + Redis, no-op handler)`,
    "",
    "The raw loop is what a hand-written consumer does: receive 10, parse, delete each. The runtime adds the schema check, " +
      "the processed marker in Redis and batched deletes. CPU is this process's (the consumer's) per message.",
    "",
    "**Local** (emulators on this machine, sub-millisecond requests: every consumer is CPU-bound, sharing 2 cores with fauxqs and Redis):",
    "",
    ...table(NETWORKS[0]!),
    "",
    `**Cloud-like** (the same, through proxies adding a ${SQS_RTT_MS} ms round trip to every SQS request and ${REDIS_RTT_MS} ms to Redis, ` +
      "as in one AWS region: requests wait on the network, which concurrency hides):",
    "",
    ...table(NETWORKS[1]!),
    "",
    "Goals: ≥ 0.9× the raw loop at concurrency 1; ≥ 3× the raw loop's concurrency-1 rate at concurrency 4.",
  ].join("\n");
  const saga = process.argv.includes("--runtime-only") ? undefined : await runSagaLatency();
  const base = {
    name: "sqs-runtime",
    messages: MESSAGES,
    sqsRttMs: SQS_RTT_MS,
    redisRttMs: REDIS_RTT_MS,
    rows,
  };
  if (!saga) return { ...base, markdown };
  const sagaMarkdown = [
    "",
    `### Saga latency, placement → SHIPPED (${saga.orders} orders over HTTP at ${saga.rate}/s; api+relay and 3 workers as processes)`,
    "",
    "| p50 | p99 | max | orders/s end to end |",
    "|---:|---:|---:|---:|",
    `| ${saga.p50Ms} ms | ${saga.p99Ms} ms | ${saga.maxMs} ms | ${saga.ordersPerSecond} |`,
    "",
    "Goal: p99 under 1 s.",
  ].join("\n");
  return { ...base, saga, markdown: markdown + "\n" + sagaMarkdown };
}

if (import.meta.main) {
  const result = process.argv.includes("--saga-only")
    ? { markdown: JSON.stringify(await runSagaLatency()) }
    : await run((line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${result.markdown}\n`);
  process.exit(0);
}
