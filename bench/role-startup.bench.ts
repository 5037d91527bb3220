// Start-to-ready time (spawn → /readyz 200) and idle memory of every role, from the sources (as `make dev` runs them),
// from the bundle as first shipped (`plain`) and from the image's bundle run as the image runs it (compile cache,
// IMAGE_NODE_OPTIONS), against a bare Node HTTP server; and the image's size.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { startEventHubsEmulator } from "../dev/eventhubs-emulator/index.ts";
import { anyFreePort } from "../dev/stack/ports.ts";
import { CONSUMER_GROUP, HUB } from "../test/support/device-fixture.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { median } from "./lib/stats.ts";
import { ROOT, RoleRunner } from "../test/support/role-runner.ts";
import { bundle } from "../scripts/bundle.ts";
import { IMAGE_NODE_OPTIONS } from "../scripts/image-node-options.ts";
import { imageSizes, type ImageSizes } from "./lib/image-size.ts";

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
/** RSS is read after the process has been idle this long (startup garbage collected or not, as in a pod). */
const IDLE_MS = 3000;

/**
 * `source`: bin/eventfleet.js with type stripping; `bundle (plain)`: the bundle before the start-up work (no compile
 * cache, CommonJS builds, default heap); `bundle`: the image's dist/eventfleet.js with the image's NODE_OPTIONS.
 */
export type Build = "source" | "bundle (plain)" | "bundle";

export interface RoleStartupRow {
  role: string;
  build: Build;
  readyMs: number;
  /** CPU time of the main thread from spawn to ready: what the start costs, less sensitive to other load than ms. */
  readyCpuMs: number;
  idleRssMiB: number;
  /** Anonymous (private) resident memory: RSS without the pages of node's binary and libraries, shared by all. */
  idlePrivateMiB: number;
  readyRatio: number;
  rssRatio: number;
}

export interface RoleStartupResult {
  name: string;
  runs: number;
  baseline: { readyMs: number; readyCpuMs: number; idleRssMiB: number; idlePrivateMiB: number };
  rows: RoleStartupRow[];
  /** Undefined when no image was built (`make image`). */
  image: ImageSizes | undefined;
  markdown: string;
}

const BARE_SERVER =
  "require('node:http').createServer((q,s)=>s.end('ok')).listen(Number(process.env.PORT),'127.0.0.1')";

/** VmRSS and RssAnon of a process, bytes. */
function memoryOf(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: field("VmRSS"), anon: field("RssAnon") };
}

/** The baseline: `node -e` a bare HTTP server, polled the same way as a role's /readyz. */
/** CPU time of a process's main thread so far, ms (/proc/<pid>/task/<pid>/schedstat, nanoseconds on CPU). */
function mainThreadCpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
}

async function bareServer(): Promise<{ readyMs: number; cpuMs: number; rss: number; anon: number }> {
  const port = await anyFreePort();
  const started = performance.now();
  const child = spawn(process.execPath, ["-e", BARE_SERVER], {
    env: { ...process.env, PORT: String(port) },
    stdio: "ignore",
  });
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        await response.arrayBuffer();
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      await delay(25);
    }
    const readyMs = performance.now() - started;
    const cpuMs = mainThreadCpuMs(child.pid!);
    await delay(IDLE_MS);
    return { readyMs, cpuMs, ...memoryOf(child.pid!) };
  } finally {
    child.kill("SIGTERM");
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<RoleStartupResult> {
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: HUB, partitions: 4, consumerGroups: [CONSUMER_GROUP] }],
  });
  const bundleDir = join(ROOT, ".eventfleet", `bench-bundle-${randomUUID().slice(0, 8)}`);
  try {
    const { entry: bundleEntry } = await bundle(join(bundleDir, "image"));
    const { entry: plainEntry } = await bundle(join(bundleDir, "plain"), { plain: true });
    const builds: Array<[Build, string, Record<string, string>]> = [
      ["source", join(ROOT, "bin/eventfleet.js"), {}],
      ["bundle (plain)", plainEntry, {}],
      ["bundle", bundleEntry, { NODE_OPTIONS: IMAGE_NODE_OPTIONS }],
    ];
    const env = {
      ...(await createTestEnv({ aws: true, azure: true })),
      EVENTHUB_CONNECTION_STRING: emulator.connectionString(HUB),
      EVENTHUB_NAME: HUB,
      EVENTHUB_CONSUMER_GROUP: CONSUMER_GROUP,
      API_PORT: "0",
    };
    const roles: Array<[string, string[]]> = [
      ["api (with relay)", ["api"]],
      ["relay", ["relay"]],
      ["worker inventory", ["worker", "inventory"]],
      ["worker shipment", ["worker", "shipment"]],
      ["worker notification", ["worker", "notification"]],
      ["worker device-ingest", ["worker", "device-ingest"]],
    ];
    const samples = new Map<
      string,
      { role: string; build: Build; ready: number[]; cpu: number[]; rss: number[]; anon: number[] }
    >();
    const baseline = {
      ready: [] as number[],
      cpu: [] as number[],
      rss: [] as number[],
      anon: [] as number[],
    };
    // Runs interleave roles and the baseline, so load from elsewhere on the machine hits all of them alike.
    for (let run = 0; run < RUNS; run++) {
      const bare = await bareServer();
      baseline.ready.push(bare.readyMs);
      baseline.cpu.push(bare.cpuMs);
      baseline.rss.push(bare.rss);
      baseline.anon.push(bare.anon);
      for (const [role, args] of roles) {
        for (const [build, entryFile, buildEnv] of builds) {
          const runner = new RoleRunner({ name: role, args, env: { ...env, ...buildEnv }, entry: entryFile });
          await runner.start();
          try {
            const readyMs = await runner.waitReady(120_000);
            const cpuMs = mainThreadCpuMs(runner.pid!);
            await delay(IDLE_MS);
            const key = `${role} (${build})`;
            const entry = samples.get(key) ?? { role, build, ready: [], cpu: [], rss: [], anon: [] };
            const memory = memoryOf(runner.pid!);
            entry.ready.push(readyMs);
            entry.cpu.push(cpuMs);
            entry.rss.push(memory.rss);
            entry.anon.push(memory.anon);
            samples.set(key, entry);
          } finally {
            await runner.stop("SIGTERM", 20_000);
          }
        }
      }
      progress(`role startup: run ${run + 1}/${RUNS} done`);
    }
    const image = await imageSizes();
    const base = {
      readyMs: median(baseline.ready),
      readyCpuMs: median(baseline.cpu),
      idleRssMiB: median(baseline.rss) / 2 ** 20,
      idlePrivateMiB: median(baseline.anon) / 2 ** 20,
    };
    const rows = [...samples.values()].map((s) => {
      const readyMs = median(s.ready);
      const idleRssMiB = median(s.rss) / 2 ** 20;
      return {
        role: s.role,
        build: s.build,
        readyMs: Math.round(readyMs),
        readyCpuMs: Math.round(median(s.cpu)),
        idleRssMiB: Math.round(idleRssMiB),
        idlePrivateMiB: Math.round(median(s.anon) / 2 ** 20),
        readyRatio: Number((readyMs / base.readyMs).toFixed(1)),
        rssRatio: Number((idleRssMiB / base.idleRssMiB).toFixed(1)),
      };
    });
    const markdown = [
      `### Role start-to-ready and idle memory (median of ${RUNS} runs; baseline: \`node -e\` bare HTTP server, spawn → first 200)`,
      "",
      "`source`: `node bin/eventfleet.js` (TypeScript, type stripping, as `make dev` and the tests run it); " +
        "`bundle (plain)`: the bundle as first shipped (before the start-up work: no compile cache, the packages' " +
        "CommonJS builds, default V8 heap); `bundle`: the image's `dist/eventfleet.js` (scripts/bundle.ts) with the " +
        `image's NODE_OPTIONS (\`${IMAGE_NODE_OPTIONS}\`), run by the same node outside a container. ` +
        "Main-thread CPU to ready (/proc schedstat) is what the start costs the process itself, and varies less " +
        "than wall time when other work shares the cores. Idle memory is read after " +
        `${IDLE_MS / 1000} s idle; private = RssAnon (RSS less the file pages of node's binary and libraries, ` +
        "which every process of the image on a node shares). RSS moves by up to ~6 MiB between runs with the page " +
        "cache (the kernel maps cached neighbours of the file pages a process touches), private does not. " +
        "The roles run against local emulators over plain " +
        "HTTP: against AWS and Azure (TLS) each also loads Node's TLS stack (about 5 MiB RSS).",
      "",
      "| role | build | spawn → /readyz 200 | × baseline | main-thread CPU to ready | × baseline | idle RSS | × baseline | private | × baseline |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
      `| baseline (bare http server) | – | ${Math.round(base.readyMs)} ms | 1.0× | ${Math.round(base.readyCpuMs)} ms | 1.0× | ${Math.round(base.idleRssMiB)} MiB | 1.0× | ${Math.round(base.idlePrivateMiB)} MiB | 1.0× |`,
      ...rows.map(
        (r) =>
          `| ${r.role} | ${r.build} | ${r.readyMs} ms | ${r.readyRatio}× | ${r.readyCpuMs} ms | ${(r.readyCpuMs / base.readyCpuMs).toFixed(1)}× | ${r.idleRssMiB} MiB | ${r.rssRatio}× | ` +
          `${r.idlePrivateMiB} MiB | ${(r.idlePrivateMiB / base.idlePrivateMiB).toFixed(1)}× |`,
      ),
      "",
      image
        ? `Image ${image.image}: ${image.imageMB} MB against its base ${image.base} (${image.baseMB} MB, what \`FROM\` names).`
        : "Image: not built (`make image`), size not measured.",
    ].join("\n");
    return {
      name: "role-startup",
      runs: RUNS,
      baseline: {
        readyMs: Math.round(base.readyMs),
        readyCpuMs: Math.round(base.readyCpuMs),
        idleRssMiB: Math.round(base.idleRssMiB),
        idlePrivateMiB: Math.round(base.idlePrivateMiB),
      },
      rows,
      image,
      markdown,
    };
  } finally {
    rmSync(bundleDir, { recursive: true, force: true });
    await emulator.close();
  }
}

if (import.meta.main) console.log((await run(console.error)).markdown);
