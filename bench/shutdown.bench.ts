// SIGTERM-to-exit of a worker with in-flight work (webhook calls that take 1 s), against the same worker idle.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../shared/aws-clients.ts";
import { placedEvent } from "../test/support/order-event-fixtures.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { median } from "./lib/stats.ts";
import { RoleRunner } from "../test/support/role-runner.ts";

const RUNS = Number(process.env.BENCH_SHUTDOWN_RUNS ?? 3);
/** How long each webhook call takes: the in-flight work a SIGTERM finds. */
const WEBHOOK_DELAY_MS = 1000;
const MESSAGES = 10;

export interface ShutdownResult {
  name: string;
  runs: number;
  idleExitMs: number;
  inFlightExitMs: number;
  /** in-flight exit / idle exit */
  ratio: number;
  /** Webhook calls under way at SIGTERM that were answered before the exit (all of them, if draining works). */
  inFlightCompleted: string;
  exitCodes: number[];
  markdown: string;
}

class SlowWebhook {
  started = 0;
  finished = 0;
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      this.started += 1;
      request.resume();
      setTimeout(() => {
        this.finished += 1;
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      }, WEBHOOK_DELAY_MS);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/notify`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<ShutdownResult> {
  const env = await createTestEnv({ aws: true });
  const sqs = createSqsClient({ AWS_REGION: env.AWS_REGION!, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
  const webhook = new SlowWebhook();
  await webhook.start();
  const workerEnv = {
    ...env,
    NOTIFY_WEBHOOK_URL: webhook.url,
    NOTIFY_WEBHOOK_SECRET: "bench-secret-0123456789abcdef",
    SHUTDOWN_TIMEOUT_MS: "20000",
    WORKER_CONCURRENCY: "2",
  };
  const idle: number[] = [];
  const busy: number[] = [];
  const exitCodes: number[] = [];
  let completed = 0;
  let underWay = 0;
  try {
    for (let run = 0; run < RUNS; run++) {
      // Idle: ready, nothing to do, SIGTERM.
      const quiet = new RoleRunner({
        name: "notification",
        args: ["worker", "notification"],
        env: workerEnv,
      });
      await quiet.start();
      await quiet.waitReady();
      await delay(500);
      let t0 = performance.now();
      const idleExit = await quiet.stop("SIGTERM", 30_000);
      idle.push(performance.now() - t0);
      exitCodes.push(idleExit.code ?? -1);

      // Busy: webhook calls in flight when SIGTERM arrives.
      const before = { started: webhook.started, finished: webhook.finished };
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: env.NOTIFICATION_QUEUE_URL!,
          Entries: Array.from({ length: MESSAGES }, (_, i) => {
            const event = placedEvent();
            return {
              Id: String(i),
              MessageBody: JSON.stringify(event),
              MessageAttributes: { type: { DataType: "String", StringValue: event.type } },
            };
          }),
        }),
      );
      // Sent before the worker starts: its first receive finds them (a long poll on fauxqs is not woken by a send).
      const worker = new RoleRunner({
        name: "notification",
        args: ["worker", "notification"],
        env: workerEnv,
      });
      await worker.start();
      await worker.waitReady();
      const deadline = Date.now() + 60_000;
      while (webhook.started === before.started && Date.now() < deadline) await delay(5);
      const inFlight = webhook.started - webhook.finished;
      t0 = performance.now();
      const exit = await worker.stop("SIGTERM", 30_000);
      busy.push(performance.now() - t0);
      exitCodes.push(exit.code ?? -1);
      // Calls under way at the signal that were answered by the time the worker exited.
      underWay += inFlight;
      completed += Math.min(inFlight, webhook.finished - before.finished);
      progress(`shutdown: run ${run + 1}/${RUNS} done`);
      // Let the remaining messages go back to the queue's visibility timeout; a fresh queue is not needed.
    }
  } finally {
    sqs.destroy();
    await webhook.stop();
  }
  const idleExitMs = Math.round(median(idle));
  const inFlightExitMs = Math.round(median(busy));
  const result = {
    name: "shutdown",
    runs: RUNS,
    idleExitMs,
    inFlightExitMs,
    ratio: Number((inFlightExitMs / idleExitMs).toFixed(1)),
    inFlightCompleted: `${completed}/${underWay}`,
    exitCodes,
  };
  const markdown = [
    `### SIGTERM → exit, notification worker (median of ${RUNS}; in-flight = webhook calls taking ${WEBHOOK_DELAY_MS} ms)`,
    "",
    "| case | SIGTERM → exit | × idle | × the in-flight call's own duration |",
    "|---|---:|---:|---:|",
    `| idle worker (baseline) | ${idleExitMs} ms | 1.0× | – |`,
    `| with in-flight webhook calls | ${inFlightExitMs} ms | ${result.ratio}× | ${(inFlightExitMs / WEBHOOK_DELAY_MS).toFixed(2)}× |`,
    "",
    `In-flight calls at SIGTERM answered before the exit: ${result.inFlightCompleted}; exit codes: ${[...new Set(exitCodes)].join(", ")}.`,
  ].join("\n");
  return { ...result, markdown };
}

if (import.meta.main) console.log((await run(console.error)).markdown);
