// Orders/s on one Redis node vs a three-master Redis Cluster, same run: `eventfleet api --relay=off` accepting
// (autocannon, 50 connections) while one `eventfleet relay` publishes the outbox to SNS, with each process's CPU
// seconds over the window, so the report says what bounds the figure on this machine.
import { RestartableRedis } from "../test/support/restartable-redis.ts";
import { LocalRedisCluster } from "../test/support/redis-cluster.ts";
import { RoleRunner } from "../test/support/role-runner.ts";
import { freePort } from "../test/support/ports.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { load, mean, type ApiBenchSide } from "./api.bench.ts";
import { CpuWindow, type CpuUse } from "./lib/process-cpu.ts";

const SECONDS = Number(process.env.BENCH_REDIS_CLUSTER_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_REDIS_CLUSTER_ROUNDS ?? 2);
const CONNECTIONS = 50;
/** Masters of the cluster side; no replicas, so both sides run the same Redis work (replication would add CPU). */
const MASTERS = 3;

export interface RedisTargetRound {
  /** Orders the API answered 202 per second of load. */
  accepted: ApiBenchSide;
  /** Accepted orders / seconds from the first request until the relay had published the last one. */
  publishedPerSecond: number;
  /** Seconds the relay needed after the load stopped to publish the rest. */
  drainSeconds: number;
  cpu: CpuUse;
}

export interface RedisTargetResult {
  target: string;
  accepted: ApiBenchSide;
  publishedPerSecond: number;
  drainSeconds: number;
  rounds: RedisTargetRound[];
  /** Share of one core each process group used over the load + drain windows (1 = a full core). */
  coreShare: Record<string, number>;
  /** Share of the whole machine that was busy (every process, every user). */
  machineBusyShare: number;
  /** The process group nearest to a full core, or the machine when it was the limit. */
  bound: string;
}

export interface RedisClusterBenchResult {
  name: string;
  single: RedisTargetResult;
  cluster: RedisTargetResult;
  /** cluster / single accepted orders per second. */
  acceptedRatio: number;
  /** cluster / single published orders per second. */
  publishedRatio: number;
  markdown: string;
}

interface Target {
  label: string;
  env: Record<string, string>;
  redisPids: () => Array<number | undefined>;
  stop: () => Promise<void>;
}

async function singleNode(): Promise<Target> {
  const server = new RestartableRedis({ name: "bench-redis", appendfsync: "everysec" });
  await server.start();
  return {
    label: "one Redis node",
    env: { REDIS_URL: server.url },
    redisPids: () => [server.pid],
    stop: async () => {
      await server.stop();
      server.removeDataDir();
    },
  };
}

async function threeMasters(): Promise<Target> {
  const cluster = await LocalRedisCluster.start({ masters: MASTERS, replicasPerMaster: 0 });
  const nodes = await cluster.nodes();
  return {
    label: `Redis Cluster, ${MASTERS} masters`,
    // No replica to confirm a write, so the API must not wait for one (its cluster default is REDIS_WRITE_REPLICAS=1:
    // every order would wait REDIS_WRITE_TIMEOUT_MS and be refused); the one node does not wait either.
    env: { ...cluster.env, REDIS_WRITE_REPLICAS: "0" },
    redisPids: () => nodes.map((n) => n.pid),
    stop: () => cluster.stop(),
  };
}

/** The API and one relay on `target`, measured over `ROUNDS` rounds (alternated with the other target by run()). */
class TargetBench {
  readonly rounds: RedisTargetRound[] = [];
  readonly api: RoleRunner;
  readonly relay: RoleRunner;
  readonly url: string;

  readonly target: Target;

  constructor(target: Target, env: Record<string, string>, port: number) {
    this.target = target;
    const roleEnv = { ...env, ...target.env, API_PORT: String(port), RATE_LIMIT_PER_SECOND: "0" };
    this.api = new RoleRunner({ name: "api", args: ["api", "--relay=off"], env: roleEnv });
    this.relay = new RoleRunner({ name: "relay", args: ["relay"], env: roleEnv });
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    await Promise.all([this.api.start(), this.relay.start()]);
    await Promise.all([this.api.waitReady(), this.relay.waitReady()]);
    // Warm-up (JIT, connection pools, the cluster client's slot map), published before the first round.
    await load(this.url, 2, 10);
    await this.#waitDrained(0);
  }

  /**
   * Until the relay has published at least `atLeast` orders in all and sees no entry pending in the outbox (its
   * eventfleet_outbox_pending gauge reads every stream when scraped).
   */
  async #waitDrained(atLeast: number): Promise<number> {
    return waitFor(
      async () => {
        const published = await this.relay.metric("eventfleet_relay_publishes_total", { outcome: "success" });
        const pending = await this.relay.metric("eventfleet_outbox_pending");
        return published >= atLeast && pending === 0 ? published : undefined;
      },
      {
        timeoutMs: 600_000,
        intervalMs: 100,
        description: `the relay on ${this.target.label} publishing the outbox`,
      },
    );
  }

  async round(): Promise<RedisTargetRound> {
    const publishedBefore = await this.#waitDrained(0);
    const nodes = this.target.redisPids().map((pid, i) => [`redis-server ${i + 1}`, [pid]] as const);
    const window = new CpuWindow(() => ({
      "api (node)": [this.api.pid],
      "relay (node)": [this.relay.pid],
      ...Object.fromEntries(nodes),
    }));
    window.start();
    const started = performance.now();
    const accepted = await load(this.url, SECONDS, CONNECTIONS);
    const loadEnded = performance.now();
    // autocannon reports a per-second rate: the count it stands for, less a second's rounding.
    const acceptedCount = accepted.acceptedPerSecond * SECONDS;
    const published = (await this.#waitDrained(publishedBefore + acceptedCount - SECONDS)) - publishedBefore;
    const cpu = window.stop();
    const ended = performance.now();
    const round = {
      accepted,
      publishedPerSecond: Math.round(published / ((ended - started) / 1000)),
      drainSeconds: Number(((ended - loadEnded) / 1000).toFixed(1)),
      cpu,
    };
    this.rounds.push(round);
    return round;
  }

  async stop(): Promise<void> {
    await Promise.all([this.api.stop(), this.relay.stop()]);
    await this.target.stop();
  }

  result(): RedisTargetResult {
    const wall = this.rounds.reduce((s, r) => s + r.cpu.wallSeconds, 0);
    const busy = this.rounds.reduce((s, r) => s + r.cpu.machineBusySeconds, 0);
    const cores = this.rounds[0]?.cpu.cores ?? 1;
    const coreShare: Record<string, number> = {};
    for (const round of this.rounds)
      for (const [name, seconds] of Object.entries(round.cpu.perProcess))
        coreShare[name] = (coreShare[name] ?? 0) + seconds;
    for (const name of Object.keys(coreShare)) coreShare[name] = Number((coreShare[name]! / wall).toFixed(2));
    const machineBusyShare = Number((busy / (wall * cores)).toFixed(2));
    const [topName, topShare] = Object.entries(coreShare).sort((a, b) => b[1] - a[1])[0] ?? ["none", 0];
    const bound =
      topShare >= 0.85
        ? `${topName} (${Math.round(topShare * 100)}% of one core: a single-threaded process at its limit)`
        : machineBusyShare >= 0.85
          ? `the machine's ${cores} cores (${Math.round(machineBusyShare * 100)}% busy, every process together; ` +
            `the busiest of ours: ${topName} at ${Math.round(topShare * 100)}% of a core)`
          : `nothing saturated (busiest: ${topName} at ${Math.round(topShare * 100)}% of a core, machine ` +
            `${Math.round(machineBusyShare * 100)}% busy): latency-bound`;
    return {
      target: this.target.label,
      accepted: mean(this.rounds.map((r) => r.accepted)),
      publishedPerSecond: Math.round(
        this.rounds.reduce((s, r) => s + r.publishedPerSecond, 0) / this.rounds.length,
      ),
      drainSeconds: Number(
        (this.rounds.reduce((s, r) => s + r.drainSeconds, 0) / this.rounds.length).toFixed(1),
      ),
      rounds: this.rounds,
      coreShare,
      machineBusyShare,
      bound,
    };
  }
}

function table(results: RedisTargetResult[]): string[] {
  const groups = [...new Set(results.flatMap((r) => Object.keys(r.coreShare)))];
  return [
    "| Redis | accepted/s | p50 ms | p99 ms | non-2xx | published/s (accept → SNS) | drain s | machine busy | bound by |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${r.target} | ${r.accepted.acceptedPerSecond} | ${r.accepted.p50Ms} | ${r.accepted.p99Ms} | ` +
        `${r.accepted.non2xx + r.accepted.errors} | ${r.publishedPerSecond} | ${r.drainSeconds} | ` +
        `${Math.round(r.machineBusyShare * 100)}% | ${r.bound} |`,
    ),
    "",
    "CPU over the load and drain windows, as a share of one core (1.00 = a full core):",
    "",
    `| Redis | ${groups.join(" | ")} |`,
    `|---|${groups.map(() => "---:").join("|")}|`,
    ...results.map(
      (r) => `| ${r.target} | ${groups.map((g) => (r.coreShare[g] ?? 0).toFixed(2)).join(" | ")} |`,
    ),
  ];
}

export async function run(
  progress: (line: string) => void = () => undefined,
): Promise<RedisClusterBenchResult> {
  const benches: TargetBench[] = [];
  try {
    for (const make of [singleNode, threeMasters]) {
      const target = await make();
      const bench = new TargetBench(target, await createTestEnv({ aws: true }), await freePort());
      benches.push(bench);
      await bench.start();
      progress(`${target.label}: api and relay ready`);
    }
    // Rounds alternate the two targets, so both see the same load from the rest of the machine.
    for (let i = 0; i < ROUNDS; i++) {
      for (const bench of benches) {
        const round = await bench.round();
        progress(
          `${bench.target.label} round ${i + 1}: ${round.accepted.acceptedPerSecond} accepted/s, ` +
            `${round.publishedPerSecond} published/s (drain ${round.drainSeconds} s)`,
        );
      }
    }
  } finally {
    await Promise.all(benches.map((b) => b.stop()));
  }
  const [single, cluster] = benches.map((b) => b.result()) as [RedisTargetResult, RedisTargetResult];
  const acceptedRatio = Number(
    (cluster.accepted.acceptedPerSecond / single.accepted.acceptedPerSecond).toFixed(2),
  );
  const publishedRatio = Number((cluster.publishedPerSecond / single.publishedPerSecond).toFixed(2));
  const markdown = [
    `### Redis: one node vs a ${MASTERS}-master Redis Cluster (same run; ${ROUNDS} alternating rounds of ${SECONDS} s, ` +
      `${CONNECTIONS} connections, means shown)`,
    "",
    "`eventfleet api --relay=off` accepts orders (order + outbox entry in one script) while one `eventfleet relay` " +
      "publishes the outbox to SNS (fauxqs) in its own process; published/s counts from the first request until the " +
      "relay had published the last accepted order. Both Redis targets run AOF (fsync every second), no replicas.",
    "",
    ...table([single, cluster]),
    "",
    `Cluster / one node: accepted **${acceptedRatio}×**, published **${publishedRatio}×**. On a machine with ` +
      `${single.rounds[0]?.cpu.cores ?? "?"} cores shared with the emulators, the load generator and other work, ` +
      "more Redis processes cannot add throughput once a node process or the machine is the limit (the table's " +
      "last column); a cluster scales where each master has its own cores.",
  ].join("\n");
  return { name: "redis-cluster", single, cluster, acceptedRatio, publishedRatio, markdown };
}

if (import.meta.main) {
  const result = await run((line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${result.markdown}\n`);
  process.exit(0);
}
