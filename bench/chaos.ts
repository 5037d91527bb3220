// `make chaos`: long order, device and API runs with faults, invariants checked in the stores → bench/results/chaos.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runApiFuzz } from "../test/support/chaos/chaos-api.ts";
import { runDeviceChaos } from "../test/support/chaos/chaos-devices.ts";
import { runOrderChaos } from "../test/support/chaos/chaos-orders.ts";
import { runPausedOwnerChaos } from "../test/support/chaos/chaos-paused-owner.ts";
import { runLargeEventsChaos } from "../test/support/chaos/chaos-large-events.ts";
import {
  runPoisonChaos,
  runRedisLossChaos,
  runSnsFaultChaos,
} from "../test/support/chaos/chaos-order-faults.ts";
import { renderChaosMarkdown, violationCount, type ChaosResult } from "../test/support/chaos/chaos-report.ts";
import { machineInfo, machineLine } from "./lib/machine.ts";
import { ROOT } from "../test/support/role-runner.ts";

const say = (line: string) =>
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

const scenarios: Array<{ name: string; run: () => Promise<ChaosResult> }> = [
  {
    name: "orders",
    run: () =>
      runOrderChaos({
        orders: Number(process.env.CHAOS_ORDERS ?? 1000),
        ratePerSecond: 20,
        processFaults: 8,
        redisRestart: true,
        cancelEvery: 5,
        seed: 20261125,
        settleTimeoutMs: 300_000,
        progress: say,
      }),
  },
  {
    name: "saga-crash-points",
    run: () =>
      runOrderChaos({
        orders: Number(process.env.CHAOS_CRASH_ORDERS ?? 400),
        ratePerSecond: 10,
        processFaults: 0,
        redisRestart: false,
        cancelEvery: 4,
        stepCrashes: Number(process.env.CHAOS_STEP_CRASHES ?? 8),
        seed: 20261130,
        settleTimeoutMs: 300_000,
        progress: say,
      }),
  },
  {
    // The long version of test/redis-cluster/*.test.ts: process kills and every Redis Cluster fault in one run.
    name: "redis-cluster",
    run: () =>
      runOrderChaos({
        orders: Number(process.env.CHAOS_REDIS_CLUSTER_ORDERS ?? 600),
        ratePerSecond: 15,
        processFaults: 4,
        redisRestart: false,
        redisMode: "cluster",
        redisFaults: [
          { fault: "kill-master", at: 0.2 },
          { fault: "reshard", at: 0.45 },
          { fault: "manual-failover", at: 0.65 },
          { fault: "kill-master", at: 0.85 },
        ],
        cancelEvery: 5,
        seed: 20261119,
        settleTimeoutMs: 300_000,
        progress: say,
      }),
  },
  {
    name: "devices",
    run: () =>
      runDeviceChaos({
        events: Number(process.env.CHAOS_EVENTS ?? 20_000),
        partitions: 4,
        replicas: 3,
        invalidEvery: 50,
        replicaFaults: ["SIGKILL", "SIGTERM"],
        cosmosOutageMs: 5000,
        ratePerSecond: 800,
        seed: 20261125,
        settleTimeoutMs: 300_000,
        progress: say,
      }),
  },
  {
    name: "paused-owner",
    run: () =>
      runPausedOwnerChaos({
        eventsPerPhase: 2000,
        partitions: 2,
        successors: 2,
        slowCosmosOneWayMs: 300,
        observeAfterWakeMs: 15_000,
        progress: say,
      }),
  },
  {
    name: "large-events",
    run: () =>
      runLargeEventsChaos({
        events: 12_000,
        eventBytes: 16 * 1024,
        partitions: 4,
        memoryLimitBytes: 512 * 1024 * 1024,
        slowCosmosOneWayMs: 100,
        drainTimeoutMs: 900_000,
        progress: say,
      }),
  },
  {
    name: "redis-loss",
    run: () => runRedisLossChaos({ ordersPerPhase: 50, persistence: false, progress: say }),
  },
  {
    name: "redis-aof",
    run: () => runRedisLossChaos({ ordersPerPhase: 50, persistence: true, progress: say }),
  },
  {
    name: "sns-reset",
    run: () => runSnsFaultChaos({ fault: "reset", faultMs: 40_000, orders: 40, progress: say }),
  },
  {
    name: "sns-blackhole",
    run: () => runSnsFaultChaos({ fault: "blackhole", faultMs: 40_000, orders: 40, progress: say }),
  },
  {
    name: "poison",
    run: () => runPoisonChaos({ messages: 10, progress: say }),
  },
  {
    name: "api",
    run: () =>
      runApiFuzz({
        requests: Number(process.env.CHAOS_REQUESTS ?? 10_000),
        concurrency: 16,
        seed: 20261125,
        progress: say,
      }),
  },
];

const machine = machineInfo(ROOT);
const results: ChaosResult[] = [];
const failures: string[] = [];
for (const scenario of scenarios.filter((s) => wanted(s.name))) {
  say(`${scenario.name}: starting`);
  try {
    const result = await scenario.run();
    results.push(result);
    say(
      `${scenario.name}: ${violationCount(result)} violations in ${(result.durationMs / 1000).toFixed(0)} s`,
    );
  } catch (error) {
    failures.push(`${scenario.name}: ${(error as Error).stack ?? String(error)}`);
    say(`${scenario.name}: could not run: ${(error as Error).message}`);
  }
}

// A run of some scenarios keeps the others' last results in the report, each saying which run it comes from.
const outDir = join(ROOT, "bench/results");
const previousFile = join(outDir, "chaos.json");
const kept: (ChaosResult & { from?: string })[] = [];
if (only.length > 0 && existsSync(previousFile)) {
  const previous = JSON.parse(readFileSync(previousFile, "utf8")) as {
    machine: { commit: string; date: string };
    results: (ChaosResult & { from?: string })[];
  };
  const fresh = new Set(results.map((r) => r.scenario));
  for (const r of previous.results)
    if (!fresh.has(r.scenario))
      kept.push({
        ...r,
        from: r.from ?? `${previous.machine.commit}, ${previous.machine.date.slice(0, 10)}`,
      });
}
const all: (ChaosResult & { from?: string })[] = [...results, ...kept];

const total = results.reduce((n, r) => n + violationCount(r), 0);
const lines = [
  "# eventfleet chaos report",
  "",
  `Machine: ${machineLine(machine)}.`,
  "",
  "| scenario | faults | invariants checked | violations | run |",
  "|---|---:|---:|---:|---|",
  ...all.map(
    (r) =>
      `| ${r.scenario} | ${r.faults.length} | ${r.invariants.length} (${r.invariants.reduce((n, i) => n + i.checked, 0)} items) | ${violationCount(r)} | ${r.from ? `earlier (${r.from})` : "this one"} |`,
  ),
  "",
  ...(failures.length > 0
    ? ["## Scenarios that could not run", "", ...failures.map((f) => "```\n" + f + "\n```"), ""]
    : []),
  ...all.map(renderChaosMarkdown),
  "How to read it: every invariant is checked against the stores themselves (Redis, SQS, Cosmos, the Storage",
  "Queue, the webhook receiver's log), after the run has settled. Faults are planned from the seed shown.",
  "",
];
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "chaos.md"), lines.join("\n"));
writeFileSync(
  join(outDir, "chaos.json"),
  `${JSON.stringify({ machine, results: all, failures }, null, 2)}\n`,
);
say(
  `wrote bench/results/chaos.md: ${total} violations${failures.length > 0 ? `, ${failures.length} scenarios failed to run` : ""}`,
);
process.exit(total > 0 || failures.length > 0 ? 1 : 0);
