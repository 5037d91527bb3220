// Throughput of the SQS worker runtime (no-op handler) against a raw SDK receive/delete loop, same run, same queue.
import { randomUUID } from "node:crypto";
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
import { createSqsClient } from "../shared/cloud-clients.ts";
import { orderEvent, type OrderEvent } from "../shared/events/order-events.ts";
import { placedEvent } from "../test/orders/order-event-fixtures.ts";
import { getStack } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { SqsWorker } from "../workers/sqs-runtime/sqs-worker.ts";

const MESSAGES = Number(process.env.BENCH_SQS_MESSAGES ?? 1500);
const CONCURRENCIES = [1, 4, 8];
const ROUNDS = Number(process.env.BENCH_SQS_ROUNDS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface SqsRuntimeBenchRow {
  concurrency: number;
  rawPerSecond: number;
  runtimePerSecond: number;
  /** runtime / raw at the same concurrency. */
  ratio: number;
  /** runtime at this concurrency / raw loop at concurrency 1. */
  ratioToRawAt1: number;
}

export interface SqsRuntimeBenchResult {
  name: string;
  messages: number;
  rows: SqsRuntimeBenchRow[];
  markdown: string;
}

async function freshQueue(sqs: SQSClient): Promise<string> {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-${randomUUID().slice(0, 8)}`,
      Attributes: { VisibilityTimeout: "30" },
    }),
  );
  return created.QueueUrl!;
}

async function fill(sqs: SQSClient, queueUrl: string, count: number): Promise<void> {
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
async function runtime(
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

export async function run(): Promise<SqsRuntimeBenchResult> {
  const { env } = await getStack();
  const sqs = createSqsClient({
    AWS_REGION: env.AWS_REGION ?? "us-east-1",
    AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL,
  });
  // As in the worker role: concurrent commands of one batch share a round trip.
  const redis = new Redis(env.REDIS_URL!, { enableAutoPipelining: true });
  const dlqUrl = await freshQueue(sqs);
  const measured: Array<{ concurrency: number; raw: number; runtime: number }> = [];
  try {
    for (const concurrency of CONCURRENCIES) {
      // Alternate raw and runtime over a few rounds and keep medians: other work on the machine comes and goes.
      const raws: number[] = [];
      const runtimes: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const rawQueue = await freshQueue(sqs);
        await fill(sqs, rawQueue, MESSAGES);
        raws.push(await rawLoop(sqs, rawQueue, concurrency, MESSAGES));
        const runtimeQueue = await freshQueue(sqs);
        await fill(sqs, runtimeQueue, MESSAGES);
        runtimes.push(await runtime(sqs, redis, runtimeQueue, dlqUrl, concurrency, MESSAGES));
      }
      measured.push({ concurrency, raw: median(raws), runtime: median(runtimes) });
    }
  } finally {
    sqs.destroy();
    redis.disconnect();
  }
  const rawAt1 = measured[0]!.raw;
  const rows = measured.map((m) => ({
    concurrency: m.concurrency,
    rawPerSecond: Math.round(m.raw),
    runtimePerSecond: Math.round(m.runtime),
    ratio: Number((m.runtime / m.raw).toFixed(2)),
    ratioToRawAt1: Number((m.runtime / rawAt1).toFixed(2)),
  }));
  const markdown = [
    `### SQS worker runtime vs raw SDK loop (${MESSAGES} messages per measurement, median of ${ROUNDS} alternating rounds, fauxqs + Redis, no-op handler)`,
    "",
    "| concurrency | raw loop msg/s | runtime msg/s | runtime / raw (same concurrency) | runtime / raw at 1 |",
    "|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${r.rawPerSecond} | ${r.runtimePerSecond} | ${r.ratio}× | ${r.ratioToRawAt1}× |`,
    ),
    "",
    "Goals: ≥ 0.9× the raw loop at concurrency 1; ≥ 3× the raw loop's concurrency-1 rate at concurrency 4.",
  ].join("\n");
  return { name: "sqs-runtime", messages: MESSAGES, rows, markdown };
}

if (import.meta.main) {
  const result = await run();
  process.stdout.write(`${result.markdown}\n`);
  process.exit(0);
}
