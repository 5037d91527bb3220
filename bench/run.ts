// `make bench`: every benchmark in one run → bench/results/latest.md and latest.json (figures with same-run baselines);
// `node bench/run.ts <step>...` re-runs those steps and keeps the other sections of the last report.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderProfile } from "./lib/cpu-profile.ts";
import { machineInfo, machineLine } from "./lib/machine.ts";
import { ROOT } from "../test/support/role-runner.ts";
import { profileOrderRoles } from "./lib/saga-profile.ts";

type Progress = (line: string) => void;
type BenchModule = { run: (progress: Progress) => Promise<Record<string, unknown>> };

interface Step {
  name: string;
  /** Relative to bench/. */
  file: string;
  /** Written by the component's owner (collected here) or by this report. */
  owner: "component" | "report";
}

const STEPS: Step[] = [
  { name: "api", file: "api.bench.ts", owner: "component" },
  { name: "sqs-runtime", file: "sqs-runtime.bench.ts", owner: "component" },
  { name: "device-ingest", file: "device-ingest.bench.ts", owner: "component" },
  { name: "eventhubs-emulator", file: "eventhubs-emulator.bench.ts", owner: "component" },
  { name: "saga-hop", file: "saga-latency.bench.ts", owner: "report" },
  { name: "role-startup", file: "role-startup.bench.ts", owner: "report" },
  { name: "scale-from-zero", file: "scale-from-zero.bench.ts", owner: "report" },
  { name: "shutdown", file: "shutdown.bench.ts", owner: "report" },
  { name: "takeover", file: "takeover.bench.ts", owner: "report" },
  { name: "device-latency", file: "device-latency.bench.ts", owner: "report" },
  { name: "device-memory", file: "device-memory.bench.ts", owner: "report" },
  { name: "tracing", file: "tracing.bench.ts", owner: "report" },
  { name: "redis-cluster", file: "redis-cluster.bench.ts", owner: "report" },
];

interface Figure {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
}

const runStarted = performance.now();
const say: Progress = (line) => {
  const elapsed = ((performance.now() - runStarted) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench +${elapsed}s] ${line}\n`);
};
const only = process.argv.slice(2);

type Loose = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === "number" ? v : Number.NaN);
const obj = (v: unknown): Loose => (v && typeof v === "object" ? (v as Loose) : {});
const ms = (v: number) => `${Math.round(v)} ms`;
const x = (a: number, b: number, digits = 2) =>
  Number.isFinite(a / b) ? `${(a / b).toFixed(digits)}×` : "–";

/** The headline figures of each result; a shape this does not know just contributes its own section. */
function figuresOf(name: string, r: Loose, results: Map<string, Loose>): Figure[] {
  switch (name) {
    case "api": {
      const cloud = obj(r.cloudLike);
      const networks: Array<[string, Loose, Loose]> = [
        ["local", obj(r.api), obj(r.baseline)],
        ["cloud-like", obj(cloud.api), obj(cloud.baseline)],
      ];
      return networks.flatMap(([network, api, base]) =>
        Object.keys(api).length === 0
          ? []
          : [
              {
                figure: `API accepted orders/s (outbox, ${network}) vs inline SNS publish per request`,
                value: `${num(api.acceptedPerSecond).toFixed(0)}/s`,
                baseline: `${num(base.acceptedPerSecond).toFixed(0)}/s`,
                ratio: x(num(api.acceptedPerSecond), num(base.acceptedPerSecond)),
              },
              {
                figure: `API p99 latency (${network}) vs inline publish`,
                value: ms(num(api.p99Ms)),
                baseline: ms(num(base.p99Ms)),
                ratio: x(num(api.p99Ms), num(base.p99Ms)),
              },
            ],
      );
    }
    case "sqs-runtime": {
      const rows = Array.isArray(r.rows) ? (r.rows as Loose[]) : [];
      // The goals compare with the raw loop at concurrency 1, so that is the baseline of every row.
      const rawAt1 = (network: unknown) =>
        num(rows.find((row) => row.network === network && num(row.concurrency) === 1)?.rawPerSecond);
      const figures = rows.map((row) => ({
        figure: `SQS runtime msg/s at concurrency ${num(row.concurrency)} (${String(row.network)}) vs raw SDK loop at concurrency 1`,
        value: `${num(row.runtimePerSecond)}/s`,
        baseline: `${rawAt1(row.network)}/s`,
        ratio: x(num(row.runtimePerSecond), rawAt1(row.network)),
      }));
      const saga = obj(r.saga);
      const hop = obj(obj(results.get("saga-hop")).hop);
      if (Object.keys(saga).length > 0) {
        for (const [label, key, hopKey] of [
          ["p50", "p50Ms", "p50"],
          ["p99", "p99Ms", "p99"],
          ["max", "maxMs", "max"],
        ] as const) {
          figures.push({
            figure: `Order saga latency ${label}, placed → SHIPPED (${num(saga.orders)} orders at ${num(saga.rate)}/s) vs 2 bare SNS→SQS hops`,
            value: ms(num(saga[key])),
            baseline: Number.isFinite(num(hop[hopKey])) ? ms(2 * num(hop[hopKey])) : "–",
            ratio: x(num(saga[key]), 2 * num(hop[hopKey]), 0),
          });
        }
      }
      return figures;
    }
    case "device-ingest":
      return [
        {
          figure: "device-ingest events/s, bulk vs per-event Cosmos writes",
          value: `${num(r.bulkEventsPerSecond).toFixed(0)}/s`,
          baseline: `${num(r.perEventEventsPerSecond).toFixed(0)}/s`,
          ratio: x(num(r.bulkEventsPerSecond), num(r.perEventEventsPerSecond)),
        },
      ];
    case "device-memory": {
      const bounded = obj(r.bounded);
      const unbounded = obj(r.unbounded);
      return [
        {
          figure: `device-ingest peak RSS draining large events under a slow Cosmos, ${num(bounded.limitMiB)} MiB limit vs none`,
          value: `${num(bounded.peakRssMiB)} MiB`,
          baseline: `${num(unbounded.peakRssMiB)} MiB`,
          ratio: x(num(bounded.peakRssMiB), num(unbounded.peakRssMiB)),
        },
      ];
    }
    case "eventhubs-emulator":
      return [
        {
          figure: "Event Hubs emulator events/s (spliced bytes) vs re-encoding",
          value: `${num(r.eventsPerSecond).toFixed(0)}/s`,
          baseline: `${num(r.baselineEventsPerSecond).toFixed(0)}/s`,
          ratio: x(num(r.eventsPerSecond), num(r.baselineEventsPerSecond)),
        },
      ];
    case "role-startup": {
      const base = obj(r.baseline);
      const rows = Array.isArray(r.rows) ? (r.rows as Loose[]) : [];
      const image = obj(r.image);
      const label = (row: Loose) =>
        `${String(row.role)} (${typeof row.build === "string" ? row.build : "source"})`;
      return [
        ...rows.flatMap((row) => [
          {
            figure: `${label(row)}: spawn → /readyz 200 vs bare node http server`,
            value: ms(num(row.readyMs)),
            baseline: ms(num(base.readyMs)),
            ratio: x(num(row.readyMs), num(base.readyMs), 1),
          },
          ...(row.readyCpuMs === undefined
            ? []
            : [
                {
                  figure: `${label(row)}: main-thread CPU spawn → ready vs bare node http server`,
                  value: ms(num(row.readyCpuMs)),
                  baseline: ms(num(base.readyCpuMs)),
                  ratio: x(num(row.readyCpuMs), num(base.readyCpuMs), 1),
                },
              ]),
          {
            figure: `${label(row)}: idle RSS vs bare node http server`,
            value: `${num(row.idleRssMiB)} MiB`,
            baseline: `${num(base.idleRssMiB)} MiB`,
            ratio: x(num(row.idleRssMiB), num(base.idleRssMiB), 1),
          },
        ]),
        ...(Object.keys(image).length === 0
          ? []
          : [
              {
                figure: `image size vs the Node base image (${String(image.base)})`,
                value: `${num(image.imageMB)} MB`,
                baseline: `${num(image.baseMB)} MB`,
                ratio: x(num(image.imageMB), num(image.baseMB), 2),
              },
            ]),
      ];
    }
    case "scale-from-zero": {
      const cold = obj(r.coldMs);
      return Object.keys(cold).map((build) => ({
        figure: `scale from zero: first message in an empty queue → handled by a freshly spawned worker (${build}) vs by a running one`,
        value: ms(num(cold[build])),
        baseline: ms(num(r.warmMs)),
        ratio: x(num(cold[build]), num(r.warmMs), 1),
      }));
    }
    case "shutdown":
      return [
        {
          figure: `notification worker SIGTERM → exit with in-flight webhook calls (answered: ${String(r.inFlightCompleted)}) vs idle`,
          value: ms(num(r.inFlightExitMs)),
          baseline: ms(num(r.idleExitMs)),
          ratio: x(num(r.inFlightExitMs), num(r.idleExitMs), 1),
        },
      ];
    case "takeover":
      return [
        {
          figure: "partition takeover after SIGKILL vs after SIGTERM (2 replicas, 4 partitions)",
          value: ms(num(r.sigkillMs)),
          baseline: ms(num(r.sigtermMs)),
          ratio: x(num(r.sigkillMs), num(r.sigtermMs), 1),
        },
        {
          figure: "partition takeover after SIGTERM vs the load-balancing interval",
          value: ms(num(r.sigtermMs)),
          baseline: ms(num(r.loadBalancingIntervalMs)),
          ratio: x(num(r.sigtermMs), num(r.loadBalancingIntervalMs), 1),
        },
      ];
    case "device-latency": {
      const a = obj(r.ingest);
      const b = obj(r.baseline);
      return ["p50", "p99"].map((p) => ({
        figure: `device event ${p}, enqueued → in Cosmos vs enqueued → delivered to a plain subscriber`,
        value: ms(num(a[p])),
        baseline: ms(num(b[p])),
        ratio: x(num(a[p]), num(b[p]), 1),
      }));
    }
    case "redis-cluster": {
      const single = obj(r.single);
      const cluster = obj(r.cluster);
      return [
        {
          figure: `API accepted orders/s on a 3-master Redis Cluster vs one Redis node (bound: ${String(cluster.bound)})`,
          value: `${num(obj(cluster.accepted).acceptedPerSecond)}/s`,
          baseline: `${num(obj(single.accepted).acceptedPerSecond)}/s`,
          ratio: x(num(obj(cluster.accepted).acceptedPerSecond), num(obj(single.accepted).acceptedPerSecond)),
        },
        {
          figure:
            "orders/s accepted and published to SNS by one relay, 3-master Redis Cluster vs one Redis node",
          value: `${num(cluster.publishedPerSecond)}/s`,
          baseline: `${num(single.publishedPerSecond)}/s`,
          ratio: x(num(cluster.publishedPerSecond), num(single.publishedPerSecond)),
        },
      ];
    }
    default:
      return [];
  }
}

const machine = machineInfo(ROOT);
say(`machine: ${machineLine(machine)}`);
const results = new Map<string, Loose>();
const durations = new Map<string, number>();
const problems: string[] = [];
const steps = STEPS.filter((s) => only.length === 0 || only.includes(s.name));
for (const [i, step] of steps.entries()) {
  const path = join(ROOT, "bench", step.file);
  const label = `(${i + 1}/${steps.length}) ${step.name}`;
  if (!existsSync(path)) {
    problems.push(`${step.name}: bench/${step.file} does not exist (not written yet); skipped`);
    say(`${label}: missing, skipped`);
    continue;
  }
  say(`${label}: running`);
  const t0 = performance.now();
  try {
    const module = (await import(path)) as BenchModule;
    const result = await module.run((line) => say(`  ${step.name}: ${line}`));
    results.set(step.name, result);
    durations.set(step.name, performance.now() - t0);
    say(`${label}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } catch (error) {
    problems.push(`${step.name}: failed: ${(error as Error).message.split("\n")[0]}`);
    say(`${label}: FAILED: ${(error as Error).message}`);
  }
}

type Profiles = Awaited<ReturnType<typeof profileOrderRoles>>;
let profiles: Profiles = [];
const profiled = only.length === 0 || only.includes("profile");
if (profiled) {
  say("profile: api and workers under --cpu-prof, 400 orders at 40/s");
  try {
    profiles = await profileOrderRoles(400, 40);
  } catch (error) {
    problems.push(`profile: failed: ${(error as Error).message.split("\n")[0]}`);
  }
}

// `node bench/run.ts <step>...` re-runs those steps only: the report keeps every other section of the last report,
// each marked with the commit and date it was measured at.
const outDir = join(ROOT, "bench/results");
const measuredAt = new Map<string, string>(
  [...results.keys()].map((name) => [name, `${machine.commit}, ${machine.date}`]),
);
const previousFile = join(outDir, "latest.json");
if (only.length > 0 && existsSync(previousFile)) {
  const previous = JSON.parse(readFileSync(previousFile, "utf8")) as {
    machine: { commit: string; date: string };
    results: Record<string, Loose>;
    profiles: Profiles;
    measuredAt?: Record<string, string>;
    durations?: Record<string, number>;
  };
  const order = STEPS.map((s) => s.name);
  for (const [name, result] of Object.entries(previous.results)) {
    if (results.has(name)) continue;
    results.set(name, result);
    durations.set(name, previous.durations?.[name] ?? 0);
    measuredAt.set(
      name,
      previous.measuredAt?.[name] ?? `${previous.machine.commit}, ${previous.machine.date}`,
    );
  }
  const sorted = [...results].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  results.clear();
  for (const [name, result] of sorted) results.set(name, result);
  if (!profiled) profiles = previous.profiles;
}

const figures = [...results].flatMap(([name, result]) => figuresOf(name, result, results));
const lines = [
  "# eventfleet benchmark report",
  "",
  `Machine: ${machineLine(machine)}. Whole run: ${((performance.now() - runStarted) / 60_000).toFixed(1)} min.`,
  ...(only.length > 0
    ? [
        "",
        `This run re-measured ${only.join(", ")} only; every other section is from an earlier run, at the commit and date its heading comment gives.`,
      ]
    : []),
  "",
  "Every figure is compared with a baseline measured in the same run on the same machine; timings are medians",
  "of several runs (see each section). Everything runs on local emulators (fauxqs, azurite, @vercel/cosmosdb-server,",
  "our Event Hubs emulator, redis-server) on this machine together with the load generators, so absolute numbers",
  "say more about the emulators and the 2 cores than about the cloud; the ratios are the point.",
  "",
  "## Summary",
  "",
  "| figure | value | baseline | ratio |",
  "|---|---:|---:|---:|",
  ...figures.map((f) => `| ${f.figure} | ${f.value} | ${f.baseline} | ${f.ratio} |`),
  "",
  ...(problems.length > 0 ? ["## Not measured", "", ...problems.map((p) => `- ${p}`), ""] : []),
  "## Sections",
  "",
  ...[...results].flatMap(([name, result]) => [
    `<!-- ${name}: ${((durations.get(name) ?? 0) / 1000).toFixed(0)} s, measured at ${measuredAt.get(name) ?? "?"} -->`,
    typeof result.markdown === "string"
      ? result.markdown
      : "```json\n" + JSON.stringify(result, null, 2) + "\n```",
    "",
  ]),
  ...(profiles.length > 0
    ? [
        "## CPU profiles (node --cpu-prof) of the order roles, 400 orders at 40/s",
        "",
        ...profiles.flatMap((p) => [renderProfile(p.role, p.summary), ""]),
      ]
    : []),
];
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "latest.md"), lines.join("\n"));
writeFileSync(
  join(outDir, "latest.json"),
  `${JSON.stringify(
    {
      machine,
      figures,
      problems,
      results: Object.fromEntries(results),
      profiles,
      measuredAt: Object.fromEntries(measuredAt),
      durations: Object.fromEntries(durations),
    },
    null,
    2,
  )}\n`,
);
say(`wrote bench/results/latest.md (${figures.length} figures, ${problems.length} not measured)`);
process.exit(0);
