// What tracing costs: the order API and the SQS worker runtime with OpenTelemetry on (every span sampled, exported
// to a real Jaeger) against off, same run, alternating rounds.
import { Redis } from "ioredis";
import { createSqsClient } from "../shared/aws-clients.ts";
import { startTelemetry } from "../shared/telemetry/start-telemetry.ts";
import { telemetrySettings } from "../shared/telemetry/telemetry-config.ts";
import { TestJaeger } from "../test/support/jaeger.ts";
import { freePort } from "../test/support/ports.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { load, mean, spawnServer, stop, waitListening, type ApiBenchSide } from "./api.bench.ts";
import { fill, freshQueue, runtime } from "./sqs-runtime.bench.ts";

const ROUNDS = Number(process.env.BENCH_TRACING_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const CONNECTIONS = 50;
const MESSAGES = Number(process.env.BENCH_SQS_MESSAGES ?? 1500);
const CONCURRENCY = 4;

export interface TracingBenchResult {
  name: string;
  api: { off: ApiBenchSide; on: ApiBenchSide; offRounds: number[]; onRounds: number[] };
  sqs: { offPerSecond: number; onPerSecond: number; offRounds: number[]; onRounds: number[] };
  markdown: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const pct = (on: number, off: number) => `${(((on - off) / off) * 100).toFixed(1)} %`;

/** Two `eventfleet api` processes, one exporting every span, loaded in alternating rounds. */
async function api(env: Record<string, string>, jaeger: TestJaeger): Promise<TracingBenchResult["api"]> {
  const common = { ...env, LOG_LEVEL: "warn", RATE_LIMIT_PER_SECOND: "0" };
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const off = spawnServer(["bin/eventfleet.js", "api"], {
    ...common,
    API_PORT: String(ports[0]),
    MANAGEMENT_PORT: String(ports[1]),
  });
  const on = spawnServer(["bin/eventfleet.js", "api"], {
    ...common,
    ...jaeger.otelEnv,
    OTEL_TRACES_SAMPLER: "always_on",
    API_PORT: String(ports[2]),
    MANAGEMENT_PORT: String(ports[3]),
  });
  const [offUrl, onUrl] = [`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[2]}`];
  try {
    await Promise.all([waitListening(offUrl), waitListening(onUrl)]);
    await load(offUrl, 2, 10);
    await load(onUrl, 2, 10);
    const offRounds: ApiBenchSide[] = [];
    const onRounds: ApiBenchSide[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      offRounds.push(await load(offUrl, SECONDS, CONNECTIONS));
      onRounds.push(await load(onUrl, SECONDS, CONNECTIONS));
    }
    return {
      off: mean(offRounds),
      on: mean(onRounds),
      offRounds: offRounds.map((r) => r.acceptedPerSecond),
      onRounds: onRounds.map((r) => r.acceptedPerSecond),
    };
  } finally {
    await Promise.all([stop(off), stop(on)]);
  }
}

/** The runtime (no-op handler) in this process; tracing switched on for every other round. */
async function sqs(env: Record<string, string>, jaeger: TestJaeger): Promise<TracingBenchResult["sqs"]> {
  const client = createSqsClient({ AWS_REGION: env.AWS_REGION!, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
  const redis = new Redis(env.REDIS_URL!);
  const settings = telemetrySettings("bench", { ...jaeger.otelEnv, OTEL_TRACES_SAMPLER: "always_on" });
  try {
    const dlq = await freshQueue(client);
    const offRounds: number[] = [];
    const onRounds: number[] = [];
    for (let round = 0; round < ROUNDS * 2; round++) {
      const traced = round % 2 === 1;
      const queue = await freshQueue(client);
      await fill(client, queue, MESSAGES);
      const telemetry = traced ? await startTelemetry(settings) : undefined;
      const perSecond = await runtime(client, redis, queue, dlq, CONCURRENCY, MESSAGES);
      await telemetry?.shutdown();
      (traced ? onRounds : offRounds).push(Math.round(perSecond));
    }
    return { offPerSecond: median(offRounds), onPerSecond: median(onRounds), offRounds, onRounds };
  } finally {
    redis.disconnect();
    client.destroy();
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<TracingBenchResult> {
  const jaeger = await TestJaeger.start();
  try {
    const env = await createTestEnv({ aws: true });
    const apiResult = await api(env, jaeger);
    progress(`api: off ${apiResult.off.acceptedPerSecond}/s, on ${apiResult.on.acceptedPerSecond}/s`);
    const sqsResult = await sqs(env, jaeger);
    progress(`sqs runtime: off ${sqsResult.offPerSecond}/s, on ${sqsResult.onPerSecond}/s`);
    const markdown = [
      `### Tracing overhead (every span sampled and exported to Jaeger; ${ROUNDS} alternating rounds, same run)`,
      "",
      "| what | tracing off | tracing on | change |",
      "|---|---:|---:|---:|",
      `| API accepted orders/s (${CONNECTIONS} connections, ${SECONDS} s rounds) | ${apiResult.off.acceptedPerSecond} | ${apiResult.on.acceptedPerSecond} | ${pct(apiResult.on.acceptedPerSecond, apiResult.off.acceptedPerSecond)} |`,
      `| API p99 ms | ${apiResult.off.p99Ms} | ${apiResult.on.p99Ms} | ${pct(apiResult.on.p99Ms, apiResult.off.p99Ms)} |`,
      `| SQS runtime messages/s (no-op handler, concurrency ${CONCURRENCY}, ${MESSAGES} messages, median) | ${sqsResult.offPerSecond} | ${sqsResult.onPerSecond} | ${pct(sqsResult.onPerSecond, sqsResult.offPerSecond)} |`,
      "",
      `Rounds (off / on): API ${apiResult.offRounds.join(", ")} / ${apiResult.onRounds.join(", ")}; ` +
        `SQS ${sqsResult.offRounds.join(", ")} / ${sqsResult.onRounds.join(", ")}. ` +
        "The API's traced side also runs the HTTP, Express, ioredis and AWS SDK instrumentations; the SQS side " +
        "measures the runtime's own process spans (the in-process bench loads no instrumentation hooks).",
    ].join("\n");
    return { name: "tracing", api: apiResult, sqs: sqsResult, markdown };
  } finally {
    await jaeger.stop();
  }
}

if (import.meta.main) {
  const result = await run((line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${result.markdown}\n`);
  process.exit(0);
}
