// Accepted orders/s and p50/p99 of `eventfleet api` (Redis outbox + relay) against a baseline that validates
// and publishes to SNS inline per request (the Lambda way), same run, same emulators, 50 connections.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { PublishCommand } from "@aws-sdk/client-sns";
import autocannon from "autocannon";
import express from "express";
import { Redis } from "ioredis";
import { readOutboxBacklogs } from "../api/outbox-backlog.ts";
import { RELAY_GROUP } from "../api/outbox-relay.ts";
import { placeOrderRequest } from "../api/order-request.ts";
import { validOrder } from "../test/support/sample-order.ts";
import { createSnsClient } from "../shared/aws-clients.ts";
import { newCloudEvent, newTraceparent } from "../shared/events/cloudevent.ts";
import { orderSubject } from "../shared/events/order-events.ts";
import { redisKeys } from "../shared/redis-keys.ts";
import { freePort } from "../test/support/ports.ts";
import { ROOT } from "../test/support/repo-root.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { withRoundTrip } from "./lib/latency-proxies.ts";

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const CONNECTIONS = 50;
/** Rounds alternate baseline and api, so both see the same machine load (other work on a shared machine). */
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 2);

export interface ApiBenchSide {
  acceptedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export interface ApiBenchResult {
  name: string;
  api: ApiBenchSide;
  baseline: ApiBenchSide;
  /** api / baseline accepted orders per second. */
  throughputRatio: number;
  /** Seconds the relay needed after the load stopped to publish the rest of the outbox. */
  relayDrainSeconds: number;
  /** The same through proxies adding cloud-like round trips. */
  cloudLike: ApiBenchNetwork & { snsRttMs: number; redisRttMs: number };
  markdown: string;
}

/** The baseline: same validation, then one SNS Publish per request before answering. */
function startBaselineServer(): void {
  const port = Number(process.env.API_PORT);
  const sns = createSnsClient({
    AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
  });
  const app = express();
  app.use(express.json({ limit: 64 * 1024 }));
  app.post("/v1/orders", async (request, response) => {
    const parsed = placeOrderRequest.safeParse(request.body);
    if (!parsed.success) {
      response.status(400).json({ title: "Bad Request" });
      return;
    }
    const orderId = randomUUID();
    const body = parsed.data;
    const event = newCloudEvent({
      type: "order.placed",
      source: "/eventfleet/baseline",
      subject: orderSubject(orderId),
      data: {
        orderId,
        ...body,
        totalCents: body.items.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0),
        placedAt: new Date().toISOString(),
      },
      traceparent: newTraceparent(),
      orderversion: 1,
    });
    try {
      await sns.send(
        new PublishCommand({
          TopicArn: process.env.ORDERS_TOPIC_ARN,
          Message: JSON.stringify(event),
          MessageAttributes: {
            type: { DataType: "String", StringValue: event.type },
            traceparent: { DataType: "String", StringValue: event.traceparent! },
          },
        }),
      );
      response
        .status(202)
        .location(`/v1/orders/${orderId}`)
        .json({ id: orderId, status: "ACKNOWLEDGED", version: 1 });
    } catch {
      response.status(503).json({ title: "Service Unavailable" });
    }
  });
  app.listen(port, "127.0.0.1");
}

export function spawnServer(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export async function waitListening(url: string): Promise<void> {
  await waitFor(
    async () => {
      const response = await fetch(`${url}/v1/orders`, { method: "GET" });
      await response.arrayBuffer();
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100, description: `${url} listening` },
  );
}

export async function load(url: string, seconds: number, connections: number): Promise<ApiBenchSide> {
  const result = await autocannon({
    url: `${url}/v1/orders`,
    method: "POST",
    connections,
    duration: seconds,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(validOrder()),
  });
  const accepted = result["2xx"];
  return {
    acceptedPerSecond: Math.round(accepted / seconds),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Mean of the rounds (percentiles: mean of each round's percentile). */
export function mean(rounds: ApiBenchSide[]): ApiBenchSide {
  const avg = (pick: (s: ApiBenchSide) => number) =>
    Math.round((rounds.reduce((sum, r) => sum + pick(r), 0) / rounds.length) * 10) / 10;
  return {
    acceptedPerSecond: Math.round(avg((r) => r.acceptedPerSecond)),
    p50Ms: avg((r) => r.p50Ms),
    p99Ms: avg((r) => r.p99Ms),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once("exit", done));
  child.kill("SIGTERM");
  await exited;
}

/** Round trips added for the cloud-like network: SNS in the same region, Redis in the same VPC. */
const SNS_RTT_MS = Number(process.env.BENCH_SNS_RTT_MS ?? 5);
const REDIS_RTT_MS = Number(process.env.BENCH_REDIS_RTT_MS ?? 1);

export interface ApiBenchNetwork {
  api: ApiBenchSide;
  baseline: ApiBenchSide;
  apiRounds: ApiBenchSide[];
  baselineRounds: ApiBenchSide[];
  /** api / baseline accepted orders per second. */
  throughputRatio: number;
  /** Seconds the relay needed after the load stopped to publish the rest of the outbox. */
  relayDrainSeconds: number;
}

/** Both servers on one network (direct, or through proxies adding round trips), measured in alternating rounds. */
async function measure(
  env: Record<string, string>,
  network: { snsRttMs: number; redisRttMs: number },
): Promise<ApiBenchNetwork> {
  const sns = await withRoundTrip(env.AWS_ENDPOINT_URL!, network.snsRttMs);
  const redisUrl = await withRoundTrip(env.REDIS_URL!, network.redisRttMs);
  const common = {
    ...env,
    AWS_ENDPOINT_URL: sns.url,
    REDIS_URL: redisUrl.url,
    LOG_LEVEL: "warn",
    RATE_LIMIT_PER_SECOND: "0",
  };
  const [apiPort, baselinePort, apiMgmt] = await Promise.all([freePort(), freePort(), freePort()]);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  const baseline = spawnServer(["bench/api.bench.ts", "--baseline-server"], {
    ...common,
    API_PORT: String(baselinePort),
  });
  const api = spawnServer(["bin/eventfleet.js", "api"], {
    ...common,
    API_PORT: String(apiPort),
    MANAGEMENT_PORT: String(apiMgmt),
  });
  const redis = new Redis(env.REDIS_URL!);
  try {
    await Promise.all([waitListening(apiUrl), waitListening(baselineUrl)]);
    // Warm up both (JIT, connection pools), then measure each alone so they do not share the CPU.
    await load(baselineUrl, 2, 10);
    await load(apiUrl, 2, 10);
    const baselineRounds: ApiBenchSide[] = [];
    const apiRounds: ApiBenchSide[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      baselineRounds.push(await load(baselineUrl, SECONDS, CONNECTIONS));
      apiRounds.push(await load(apiUrl, SECONDS, CONNECTIONS));
    }
    const loadEnded = performance.now();
    const baselineSide = mean(baselineRounds);
    const apiSide = mean(apiRounds);
    const streams = redisKeys(env.EVENTFLEET_ENV!).outboxStreams();
    await waitFor(async () => (await readOutboxBacklogs(redis, streams, RELAY_GROUP)).unacknowledged === 0, {
      timeoutMs: 600_000,
      intervalMs: 100,
      description: "the relay publishing the whole outbox",
    });
    return {
      api: apiSide,
      baseline: baselineSide,
      apiRounds,
      baselineRounds,
      throughputRatio: Number(
        (apiSide.acceptedPerSecond / Math.max(1, baselineSide.acceptedPerSecond)).toFixed(2),
      ),
      relayDrainSeconds: Number(((performance.now() - loadEnded) / 1000).toFixed(1)),
    };
  } finally {
    redis.disconnect();
    await Promise.all([stop(api), stop(baseline)]);
    await Promise.all([sns.stop(), redisUrl.stop()]);
  }
}

function section(title: string, m: ApiBenchNetwork): string[] {
  const row = (name: string, s: ApiBenchSide) =>
    `| ${name} | ${s.acceptedPerSecond} | ${s.p50Ms} | ${s.p99Ms} | ${s.non2xx} | ${s.errors} |`;
  return [
    title,
    "",
    "| handler | accepted/s | p50 ms | p99 ms | non-2xx | errors |",
    "|---|---:|---:|---:|---:|---:|",
    row("eventfleet api (Redis outbox + relay)", m.api),
    row("baseline: validate + SNS Publish inline", m.baseline),
    "",
    `Per round (api / baseline accepted/s): ${m.apiRounds
      .map((a, i) => `${a.acceptedPerSecond} / ${m.baselineRounds[i]!.acceptedPerSecond}`)
      .join(", ")}.`,
    `Throughput ratio api / baseline: **${m.throughputRatio}×** (goal ≥ 3× at equal or better p99: ` +
      `p99 ${m.api.p99Ms} ms vs ${m.baseline.p99Ms} ms). ` +
      `The relay published the remaining outbox ${m.relayDrainSeconds} s after the load stopped.`,
  ];
}

export async function run(progress: (line: string) => void = () => undefined): Promise<ApiBenchResult> {
  const env = await createTestEnv({ aws: true });
  const local = await measure(env, { snsRttMs: 0, redisRttMs: 0 });
  progress(`local: api ${local.api.acceptedPerSecond}/s, baseline ${local.baseline.acceptedPerSecond}/s`);
  const cloudLike = await measure(env, { snsRttMs: SNS_RTT_MS, redisRttMs: REDIS_RTT_MS });
  progress(
    `cloud-like: api ${cloudLike.api.acceptedPerSecond}/s, baseline ${cloudLike.baseline.acceptedPerSecond}/s`,
  );
  const markdown = [
    `### Order API: accepted orders/s at ${CONNECTIONS} connections (autocannon, fauxqs + Redis; ` +
      `${ROUNDS} alternating rounds of ${SECONDS} s each, means shown)`,
    "",
    ...section(
      "**Local** (emulators on this machine: sub-millisecond requests, everything shares 2 cores):",
      local,
    ),
    "",
    ...section(
      `**Cloud-like** (through proxies adding a ${SNS_RTT_MS} ms round trip to every SNS request and ${REDIS_RTT_MS} ms to Redis, as in one AWS region):`,
      cloudLike,
    ),
  ].join("\n");
  return {
    name: "api",
    api: local.api,
    baseline: local.baseline,
    throughputRatio: local.throughputRatio,
    relayDrainSeconds: local.relayDrainSeconds,
    cloudLike: { ...cloudLike, snsRttMs: SNS_RTT_MS, redisRttMs: REDIS_RTT_MS },
    markdown,
  };
}

if (process.argv.includes("--baseline-server")) {
  startBaselineServer();
} else if (import.meta.main) {
  const result = await run((line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${result.markdown}\n`);
  process.exit(0);
}
