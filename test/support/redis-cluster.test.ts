// The Redis Cluster harness itself: it forms a real cluster, a cluster client works across slots, a killed master
// fails over to its replica with the keys intact, CLUSTER FAILOVER switches roles, and a reshard moves slots and keys
// while a client keeps writing.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Cluster } from "ioredis";
import { LocalRedisCluster } from "./redis-cluster.ts";
import { waitFor } from "./wait.ts";

let cluster: LocalRedisCluster;
let client: Cluster;

function clusterClient(): Cluster {
  const seeds = cluster.seeds.split(",").map((seed) => {
    const [host, port] = seed.split(":");
    return { host: host!, port: Number(port) };
  });
  const created = new Cluster(seeds, { redisOptions: { password: cluster.password } });
  created.on("error", () => undefined);
  return created;
}

/** Writes `key-0…` until stopped, retrying a write the cluster refused (a failover, a moving slot). */
function backgroundWriter(prefix: string) {
  const acknowledged: string[] = [];
  let refused = 0;
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const key = `${prefix}:{w${i % 64}}:${i}`;
      for (;;) {
        try {
          await client.set(key, String(i));
          acknowledged.push(key);
          break;
        } catch {
          refused += 1;
          if (!running) return;
        }
      }
    }
  })();
  return {
    acknowledged,
    get refused() {
      return refused;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

before(async () => {
  cluster = await LocalRedisCluster.start({ password: "harness-secret" });
  client = clusterClient();
});

after(async () => {
  client?.disconnect();
  await cluster?.stop();
});

test("forms 3 masters with a replica each, every slot served, and a cluster client reads and writes keys of every master", async () => {
  const nodes = await cluster.nodes();
  const masters = nodes.filter((n) => n.role === "master");
  assert.equal(masters.length, 3);
  assert.equal(
    masters.reduce((n, m) => n + m.slotCount, 0),
    16384,
  );
  const replicas = nodes.filter((n) => n.role === "replica");
  assert.deepEqual(replicas.map((r) => r.masterId).sort(), masters.map((m) => m.id).sort());
  assert.equal(cluster.seeds.split(",").length, 6);
  assert.ok(
    nodes.every((n) => n.pid !== undefined),
    "every node is a process of this run",
  );

  for (let i = 0; i < 300; i++) await client.set(`formed:${i}`, String(i));
  const values = await Promise.all(Array.from({ length: 300 }, (_, i) => client.get(`formed:${i}`)));
  assert.deepEqual(
    values,
    Array.from({ length: 300 }, (_, i) => String(i)),
  );
  const owners = new Set<number>();
  for (let i = 0; i < 30; i++) owners.add((await cluster.masterOfKey(`formed:${i}`)).port);
  assert.equal(owners.size, 3, "the keys spread over all three masters");
});

test("a SIGKILLed master: its replica is promoted, every replicated key stays readable, writes go on", async (t) => {
  for (let i = 0; i < 500; i++) await client.set(`before-kill:${i}`, String(i));
  await cluster.waitReplicated();
  const victim = await cluster.masterOfKey("before-kill:0");
  const writer = backgroundWriter("during-kill");

  const failover = await cluster.failover(victim, "kill");
  const afterFailover = writer.acknowledged.length;
  await waitForMore(writer, afterFailover + 50);
  await writer.stop();

  assert.notEqual(failover.promoted, victim.port);
  const nodes = await cluster.nodes();
  assert.equal(nodes.find((n) => n.port === failover.promoted)?.role, "master");
  assert.equal(nodes.find((n) => n.port === victim.port)?.failing, true, "the killed node is flagged failed");
  assert.equal((await cluster.masterOfKey("before-kill:0")).port, failover.promoted);
  const before = await Promise.all(Array.from({ length: 500 }, (_, i) => client.get(`before-kill:${i}`)));
  assert.deepEqual(
    before,
    Array.from({ length: 500 }, (_, i) => String(i)),
  );
  // Acknowledged during the failover but maybe not replicated before the kill: the asynchronous window, counted.
  const lost = (await Promise.all(writer.acknowledged.map((k) => client.exists(k)))).filter(
    (e) => e === 0,
  ).length;
  t.diagnostic(
    `failover in ${Math.round(failover.durationMs)} ms; background writes: ${writer.acknowledged.length} acknowledged, ` +
      `${writer.refused} refused and retried, ${lost} acknowledged then lost`,
  );

  // Back from the dead, the old master rejoins as a replica of the promoted one.
  await cluster.restart(victim);
  const rejoined = (await cluster.nodes()).find((n) => n.port === victim.port)!;
  assert.equal(rejoined.role, "replica");
  assert.equal(rejoined.masterId, (await cluster.nodes()).find((n) => n.port === failover.promoted)!.id);
});

test("a manual CLUSTER FAILOVER: the replica becomes master, the old master its replica, nothing lost", async () => {
  for (let i = 0; i < 200; i++) await client.set(`manual:${i}`, String(i));
  const master = await cluster.masterOfKey("manual:0");
  const result = await cluster.failover(master, "manual");
  const nodes = await cluster.nodes();
  const promoted = nodes.find((n) => n.port === result.promoted)!;
  assert.equal(promoted.role, "master");
  assert.equal(nodes.find((n) => n.port === master.port)!.masterId, promoted.id);
  const values = await Promise.all(Array.from({ length: 200 }, (_, i) => client.get(`manual:${i}`)));
  assert.deepEqual(
    values,
    Array.from({ length: 200 }, (_, i) => String(i)),
  );
});

test("reshard moves slots and their keys to another master while a client writes; every key stays readable", async (t) => {
  const keys = Array.from({ length: 2000 }, (_, i) => `reshard:${i}`);
  for (const key of keys) await client.set(key, key);
  const [from, to] = await cluster.masters();
  const writer = backgroundWriter("during-reshard");
  const moved = await cluster.reshard(from!, to!, 1000);
  await writer.stop();

  assert.equal(moved.slots.length, 1000);
  const masters = await cluster.masters();
  assert.equal(masters.find((m) => m.port === from!.port)!.slotCount, from!.slotCount - 1000);
  assert.equal(masters.find((m) => m.port === to!.port)!.slotCount, to!.slotCount + 1000);
  const values = await Promise.all(keys.map((key) => client.get(key)));
  assert.deepEqual(values, keys);
  const written = await Promise.all(writer.acknowledged.map((key) => client.exists(key)));
  assert.equal(written.filter((e) => e === 0).length, 0, "no write acknowledged during the reshard is lost");
  const movedKeys = (
    await Promise.all(
      keys.slice(0, 200).map(async (key) => (await cluster.masterOfKey(key)).port === to!.port),
    )
  ).filter(Boolean).length;
  assert.ok(movedKeys > 0, "some of the keys now live on the target master");
  t.diagnostic(
    `moved ${moved.slots.length} slots in ${Math.round(moved.durationMs)} ms under ${writer.acknowledged.length} writes (${writer.refused} retried)`,
  );
});

async function waitForMore(writer: { acknowledged: string[] }, count: number): Promise<void> {
  await waitFor(() => writer.acknowledged.length >= count, {
    timeoutMs: 60_000,
    description: `writes to resume after the failover (${count} acknowledged)`,
  });
}
