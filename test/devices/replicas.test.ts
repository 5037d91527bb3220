// Device-ingest replicas as separate processes sharing one consumer group: balance, exactly-once storage, takeover.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import { waitFor } from "../support/wait.ts";
import {
  DeviceTestProbe,
  deviceTestEnv,
  FAST_WORKER_ENV,
  Replica,
  startHub,
  validEvents,
} from "../support/device-fixture.ts";

describe("device-ingest replicas over a 4-partition hub", () => {
  let emulator: EventHubsEmulator;
  let probe: DeviceTestProbe;
  let replicas: Replica[] = [];
  const expected: string[] = [];

  const owners = async () => {
    const map = new Map<string, string>();
    for (const o of await probe.ownerships()) map.set(o.partitionId, o.ownerId);
    return map;
  };
  /** Resolves once every partition is owned by one of `live` and the counts per owner are as balanced as possible. */
  const settled = (live: Replica[]) =>
    waitFor(
      async () => {
        const map = await owners();
        const ids = new Set(live.map((r) => r.ownerId));
        if (map.size !== 4 || ![...map.values()].every((o) => ids.has(o))) return false;
        const counts = live.map((r) => [...map.values()].filter((o) => o === r.ownerId).length);
        return Math.max(...counts) - Math.min(...counts) <= 1 ? map : false;
      },
      { timeoutMs: 90_000, intervalMs: 250, description: `ownership settled over ${live.length} replicas` },
    );
  const sendAndExpect = async (prefix: string, count: number) => {
    const events = validEvents(prefix, count, 12);
    await probe.send(events);
    expected.push(...events.map((e) => e.id));
    expected.sort();
  };
  const allStoredOnceAndCheckpointed = async () => {
    await waitFor(
      async () => {
        const ids = await probe.telemetryIds();
        return ids.length === expected.length && ids;
      },
      { timeoutMs: 90_000, intervalMs: 300, description: `${expected.length} telemetry documents` },
    );
    assert.deepEqual(await probe.telemetryIds(), expected, "every valid event exactly once, by id");
    await probe.waitCheckpointsAtEnd();
  };

  before(async () => {
    const hub = await startHub(4);
    emulator = hub.emulator;
    const env = await deviceTestEnv(hub.connectionString);
    probe = new DeviceTestProbe(env);
    replicas = await Promise.all([0, 1, 2].map(() => Replica.start(env)));
    await Promise.all(replicas.map((r) => r.waitReady()));
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.kill()));
    await probe?.close();
    await emulator?.close();
  });

  test("three replicas settle 2/1/1, store every valid event exactly once and checkpoint each partition's last event", async () => {
    const map = await settled(replicas);
    const counts = replicas.map((r) => [...map.values()].filter((o) => o === r.ownerId).length).sort();
    assert.deepEqual(counts, [1, 1, 2]);
    await sendAndExpect("a", 300);
    await allStoredOnceAndCheckpointed();
  });

  test("SIGTERM: the replica finishes, checkpoints and gives its partitions up; the others take them, nothing lost", async () => {
    const before = await owners();
    const victim = replicas.find((r) => [...before.values()].includes(r.ownerId))!;
    const survivors = replicas.filter((r) => r !== victim);
    await sendAndExpect("b", 200);
    assert.equal(await victim.terminate(), 0, `clean exit:\n${victim.describe()}`);
    // Released, not left to expire: no partition still names the stopped replica.
    const right = await owners();
    assert.ok(![...right.values()].includes(victim.ownerId), "ownership given up on shutdown");
    replicas = survivors;
    await settled(survivors);
    await sendAndExpect("c", 200);
    await allStoredOnceAndCheckpointed();
  });

  test("SIGKILL: the partitions move only after ownership expiry; redelivered events overwrite themselves", async () => {
    const before = await owners();
    const [victim, survivor] = replicas as [Replica, Replica];
    const stored = await victim.metric("eventfleet_eventhub_events_total");
    await sendAndExpect("d", 200);
    await waitFor(async () => (await victim.metric("eventfleet_eventhub_events_total")) > stored, {
      timeoutMs: 60_000,
      description: "the victim processing phase d",
    });
    const killedAt = Date.now();
    await victim.kill();
    const right = await owners();
    const orphaned = [...before.entries()].filter(([, o]) => o === victim.ownerId).map(([p]) => p);
    assert.ok(orphaned.length > 0);
    for (const p of orphaned)
      assert.equal(right.get(p), victim.ownerId, `partition ${p} still names the dead replica`);
    replicas = [survivor];
    await settled([survivor]);
    // Its last renewal came shortly before the kill, so the move cannot come much before expiry (half of it is a
    // bound that holds even when a loaded machine stretches the renewal loop).
    const lowerBound = Number(FAST_WORKER_ENV.DEVICE_INGEST_OWNERSHIP_EXPIRY_MS) / 2;
    assert.ok(
      Date.now() - killedAt >= lowerBound,
      "partitions of a crashed replica move only after ownership expiry",
    );
    await sendAndExpect("e", 100);
    await allStoredOnceAndCheckpointed();
  });
});
