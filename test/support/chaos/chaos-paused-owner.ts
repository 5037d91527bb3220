// Paused owner: a device-ingest replica is SIGSTOPped in the middle of a batch (its Cosmos is slow) and stays
// stopped past its ownership expiry; others take its partitions and read on; then it is SIGCONTed. It must give the
// partitions up, not read them from its old position (the SDK re-creates a stolen receiver silently when no receive
// was pending), and no checkpoint may move backwards (its batch ends behind the new owners' checkpoints).
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { DeviceTestProbe, FAST_WORKER_ENV, deviceTestEnv, startHub, validEvents } from "../device-fixture.ts";
import { TcpFaultProxy } from "../tcp-fault-proxy.ts";
import { waitFor } from "../wait.ts";
import { FaultLog, type ChaosResult, type InvariantResult } from "./chaos-report.ts";
import { RoleRunner } from "../role-runner.ts";

export interface PausedOwnerOptions {
  /** Events sent before the pause, and again while the replica is paused. */
  eventsPerPhase: number;
  partitions: number;
  /**
   * Replicas started while the first is paused. At least `partitions`, so that the woken replica's fair share is
   * nothing and any event it stores was read without owning the partition.
   */
  successors: number;
  /** One-way delay added to the first replica's Cosmos calls, so that it is paused inside a batch. */
  slowCosmosOneWayMs: number;
  /** How long the paused replica stays awake after SIGCONT before the invariants are checked. */
  observeAfterWakeMs: number;
  progress?: (line: string) => void;
}

const BATCH_SIZE = 20;
/** Ownership expiry of the replicas (FAST_WORKER_ENV): the pause lasts longer than this. */
const OWNERSHIP_EXPIRY_MS = Number(FAST_WORKER_ENV.DEVICE_INGEST_OWNERSHIP_EXPIRY_MS);

export async function runPausedOwnerChaos(options: PausedOwnerOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const runStarted = performance.now();
  const faults = new FaultLog();
  const { emulator, connectionString } = await startHub(options.partitions);
  const env: Record<string, string> = {
    ...(await deviceTestEnv(connectionString)),
    // Small batches: a replica reading from an old position needs several batches (and checkpoints) to catch up.
    DEVICE_INGEST_BATCH_SIZE: String(BATCH_SIZE),
  };
  const probe = new DeviceTestProbe(env);
  const slowCosmos = new TcpFaultProxy(Number(new URL(env.COSMOS_ENDPOINT!).port), {
    oneWayDelayMs: options.slowCosmosOneWayMs,
  });
  await slowCosmos.up();
  const paused = new RoleRunner({
    name: "device-ingest-paused",
    args: ["worker", "device-ingest"],
    env: { ...env, COSMOS_ENDPOINT: `https://127.0.0.1:${slowCosmos.port}/` },
  });
  const successors = Array.from(
    { length: options.successors },
    (_, i) =>
      new RoleRunner({ name: `device-ingest-successor-${i + 1}`, args: ["worker", "device-ingest"], env }),
  );
  const prefix = env.EVENTFLEET_ENV!;
  const before = validEvents(`${prefix}a`, options.eventsPerPhase, 16);
  const during = validEvents(`${prefix}b`, options.eventsPerPhase, 16);
  const ownerOf = async () =>
    Object.fromEntries((await probe.ownerships()).map((o) => [o.partitionId, o.ownerId]));
  const ownedBy = async (ownerIds: string[]) => {
    const owners = await ownerOf();
    return (
      Object.keys(owners).length === options.partitions &&
      Object.values(owners).every((o) => ownerIds.includes(o))
    );
  };
  const ownerIdOf = (runner: RoleRunner) => `${hostname()}-${runner.pid}`;

  // Every checkpoint seen, sampled throughout: a value lower than an earlier one is a checkpoint moved backwards.
  const backwards: string[] = [];
  const highest: Record<string, number> = {};
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        for (const [partition, sequence] of Object.entries(await probe.checkpointedSequences())) {
          samples += 1;
          const top = highest[partition] ?? -1;
          const seen = `partition ${partition}: ${top} → ${sequence}`;
          if (sequence < top && !backwards.includes(seen)) backwards.push(seen);
          highest[partition] = Math.max(top, sequence);
        }
      } catch {
        // the store is local and up; a failed sample is just skipped
      }
      await delay(100);
    }
  })();

  try {
    await paused.start();
    await paused.waitReady();
    await waitFor(() => ownedBy([ownerIdOf(paused)]), {
      timeoutMs: 60_000,
      description: "the first replica owns every partition",
    });
    await probe.send(before);
    // Paused while it drains the backlog: inside a batch (writing to the slow Cosmos), not waiting for events.
    await waitFor(
      async () => (await paused.metric("eventfleet_eventhub_events_total", { outcome: "stored" })) >= 40,
      { timeoutMs: 120_000, intervalMs: 50, description: "the first replica draining the backlog" },
    );
    const storedBeforePause = await paused.metric("eventfleet_eventhub_events_total", { outcome: "stored" });
    paused.signal("SIGSTOP");
    const pausedAt = faults.elapsedMs();
    say(
      `paused-owner: first replica SIGSTOPped after storing ${storedBeforePause} of ${before.length} events`,
    );
    await delay(OWNERSHIP_EXPIRY_MS + 1000); // the pause must outlast the ownership expiry: that is the fault
    for (const successor of successors) await successor.start();
    await Promise.all(successors.map((s) => s.waitReady()));
    await waitFor(() => ownedBy(successors.map(ownerIdOf)), {
      timeoutMs: 60_000,
      description: "the successors own every partition",
    });
    await probe.send(during);
    await probe.waitCheckpointsAtEnd(120_000);
    say(`paused-owner: the backlog and ${during.length} more events read and checkpointed by the successors`);

    paused.signal("SIGCONT");
    faults.record(
      "SIGSTOP",
      paused.name,
      `paused ${((faults.elapsedMs() - pausedAt) / 1000).toFixed(1)} s (ownership expiry ${OWNERSHIP_EXPIRY_MS / 1000} s), then SIGCONT`,
      pausedAt,
    );
    await delay(options.observeAfterWakeMs); // watching what the woken replica does is the point here
    await probe.waitCheckpointsAtEnd(120_000);
    sampling = false;
    await sampler;

    const invariants: InvariantResult[] = [];
    const check = (name: string, checked: number, violations: string[]) =>
      invariants.push({ name, checked, violations });
    check("a checkpoint never moves backwards", samples, backwards);
    const storedAfterWake =
      (await paused.metric("eventfleet_eventhub_events_total", { outcome: "stored" })) - storedBeforePause;
    // The batch it was paused in (and one it may have finished between the scrape and the signal) completes.
    check(
      "the woken replica read no batch after waking (only the recorded owner reads a partition)",
      1,
      storedAfterWake > 2 * BATCH_SIZE
        ? [`${storedAfterWake} events stored by the woken replica after the pause (batch size ${BATCH_SIZE})`]
        : [],
    );
    const ids = new Set(await probe.telemetryIds());
    const expected = [...before, ...during];
    check(
      "every event in Cosmos",
      expected.length,
      expected.filter((e) => !ids.has(e.id)).map((e) => e.id),
    );
    check("the woken replica is still running", 1, paused.running ? [] : [`exited: ${paused.tail(5)}`]);
    return {
      scenario: "Paused owner",
      parameters: {
        eventsPerPhase: options.eventsPerPhase,
        partitions: options.partitions,
        successors: options.successors,
        ownershipExpiryMs: OWNERSHIP_EXPIRY_MS,
        slowCosmosOneWayMs: options.slowCosmosOneWayMs,
        observeAfterWakeMs: options.observeAfterWakeMs,
      },
      durationMs: performance.now() - runStarted,
      faults: faults.faults,
      counts: { checkpointSamples: samples, documents: ids.size, storedByWokenReplica: storedAfterWake },
      invariants,
    };
  } finally {
    sampling = false;
    paused.signal("SIGCONT");
    await Promise.all([paused, ...successors].map((r) => r.stop("SIGTERM", 20_000)));
    await slowCosmos.close();
    await probe.close();
    await emulator.close();
  }
}
