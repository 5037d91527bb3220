// Partition takeover: after SIGTERM or SIGKILL of one of two device-ingest replicas, how long until the other owns all.
import { setTimeout as delay } from "node:timers/promises";
import { startEventHubsEmulator } from "../dev/eventhubs-emulator/index.ts";
import { CONSUMER_GROUP, DeviceTestProbe, FAST_WORKER_ENV, HUB } from "../test/support/device-fixture.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { median } from "./lib/stats.ts";
import { RoleRunner } from "../test/support/role-runner.ts";
import { hostname } from "node:os";

const RUNS = Number(process.env.BENCH_TAKEOVER_RUNS ?? 3);
const PARTITIONS = 4;

export interface TakeoverResult {
  name: string;
  runs: number;
  loadBalancingIntervalMs: number;
  ownershipExpiryMs: number;
  sigtermMs: number;
  sigkillMs: number;
  /** SIGKILL takeover / SIGTERM takeover */
  ratio: number;
  markdown: string;
}

const ownerOf = (r: RoleRunner) => `${hostname()}-${r.pid}`;

async function owners(probe: DeviceTestProbe): Promise<Map<string, string>> {
  return new Map((await probe.ownerships()).map((o) => [o.partitionId, o.ownerId]));
}

async function waitOwned(
  probe: DeviceTestProbe,
  by: (owner: string) => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const map = await owners(probe);
    if (map.size === PARTITIONS && [...map.values()].every(by)) return;
    if (Date.now() > deadline)
      throw new Error(`ownership did not settle (${what}): ${JSON.stringify([...map])}`);
    await delay(50);
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<TakeoverResult> {
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: HUB, partitions: PARTITIONS, consumerGroups: [CONSUMER_GROUP] }],
  });
  const env = {
    ...(await createTestEnv({ aws: false, azure: true })),
    EVENTHUB_CONNECTION_STRING: emulator.connectionString(HUB),
    EVENTHUB_NAME: HUB,
    EVENTHUB_CONSUMER_GROUP: CONSUMER_GROUP,
    ...FAST_WORKER_ENV,
  };
  const probe = new DeviceTestProbe(env);
  const replicas = [0, 1].map(
    (i) => new RoleRunner({ name: `device-ingest-${i + 1}`, args: ["worker", "device-ingest"], env }),
  );
  const times: Record<"SIGTERM" | "SIGKILL", number[]> = { SIGTERM: [], SIGKILL: [] };
  try {
    for (const r of replicas) await r.start();
    await Promise.all(replicas.map((r) => r.waitReady()));
    for (let run = 0; run < RUNS; run++) {
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        // Both replicas up and holding two partitions each.
        await waitOwned(probe, () => true, "all owned");
        const deadline = Date.now() + 120_000;
        for (;;) {
          const map = await owners(probe);
          const counts = replicas.map((r) => [...map.values()].filter((o) => o === ownerOf(r)).length);
          if (counts.every((c) => c === PARTITIONS / 2)) break;
          if (Date.now() > deadline) throw new Error(`replicas did not balance: ${counts.join("/")}`);
          await delay(100);
        }
        const [victim, survivor] = replicas as [RoleRunner, RoleRunner];
        const survivorId = ownerOf(survivor);
        const t0 = performance.now();
        victim.signal(signal);
        await waitOwned(probe, (o) => o === survivorId, `${signal} takeover`);
        times[signal].push(performance.now() - t0);
        await victim.exited;
        await victim.start();
        await victim.waitReady();
        // The restarted replica goes second next time, so each process is the victim in turn.
        replicas.reverse();
      }
      progress(`takeover: run ${run + 1}/${RUNS} done`);
    }
  } finally {
    await Promise.all(replicas.map((r) => r.stop("SIGTERM", 20_000)));
    await probe.close();
    await emulator.close();
  }
  const lb = Number(FAST_WORKER_ENV.DEVICE_INGEST_LB_INTERVAL_MS);
  const expiry = Number(FAST_WORKER_ENV.DEVICE_INGEST_OWNERSHIP_EXPIRY_MS);
  const sigtermMs = Math.round(median(times.SIGTERM));
  const sigkillMs = Math.round(median(times.SIGKILL));
  const ratio = Number((sigkillMs / sigtermMs).toFixed(1));
  const markdown = [
    `### Partition takeover, 2 replicas × ${PARTITIONS} partitions (median of ${RUNS}; load-balancing interval ${lb} ms, ownership expiry ${expiry} ms)`,
    "",
    "| victim gets | signal → survivor owns every partition | × SIGTERM case | × its floor |",
    "|---|---:|---:|---:|",
    `| SIGTERM (releases its partitions; baseline) | ${sigtermMs} ms | 1.0× | ${(sigtermMs / lb).toFixed(1)}× the LB interval |`,
    `| SIGKILL (ownership must expire) | ${sigkillMs} ms | ${ratio}× | ${(sigkillMs / (expiry + lb)).toFixed(1)}× expiry + LB interval |`,
    "",
    "A balanced replica claims one partition per interval, so taking two takes about two intervals after they are free.",
  ].join("\n");
  return {
    name: "takeover",
    runs: RUNS,
    loadBalancingIntervalMs: lb,
    ownershipExpiryMs: expiry,
    sigtermMs,
    sigkillMs,
    ratio,
    markdown,
  };
}

if (import.meta.main) console.log((await run(console.error)).markdown);
