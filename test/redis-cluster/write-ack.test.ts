// The API answers 2xx for an order or a cancel only once a replica of the master that took the write has it (WAIT
// in the same pipeline, on that master), on a real Redis Cluster (3 masters, a replica each). A replica that cannot
// acknowledge (its process stopped with SIGSTOP) turns the answer into 503 + Retry-After; the write is on the master,
// and the retry with the same Idempotency-Key returns the same order, never a second one. Stopping the replica of
// another master changes nothing, so WAIT went to the order's own master. A slot that moves is followed by the write
// itself (a pipeline gets MOVED/ASK/TRYAGAIN for the script only, which ioredis leaves to the caller): after MOVED
// straight to the node the reply names, though no refresh of the slot map could learn the move; after ASK to the
// importing master with ASKING, its WAIT counted there; after TRYAGAIN again, until the API's deadline.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis, type Cluster } from "ioredis";
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import type { OrderPlacedData } from "../../shared/events/order-events.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import type { RedisClient } from "../../shared/redis-connection.ts";
import { WriteNotAcknowledgedError } from "../../shared/redis-write-ack.ts";
import { requestFingerprint } from "../../api/idempotency.ts";
import { keySlot } from "../../shared/redis-slot.ts";
import { clusterClient, clusterRedisEnv } from "../support/cluster-redis-config.ts";
import { startInProcessApi, type InProcessApi } from "../support/in-process-api.ts";
import { LocalRedisCluster, type ClusterNode } from "../support/redis-cluster.ts";
import { validOrder } from "../support/sample-order.ts";
import { waitFor } from "../support/wait.ts";

/** AUTH_MODE none: the principal of a caller is its address (api/auth.ts); the API listens on 127.0.0.1. */
const PRINCIPAL = "ip:127.0.0.1";

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const WRITE_TIMEOUT_MS = 1900;

describe("write acknowledgement by replicas on a Redis Cluster", () => {
  let cluster: LocalRedisCluster;
  let api: InProcessApi;
  /** A second connection to the cluster, as another API replica has. */
  let other: RedisClient;

  before(async () => {
    cluster = await LocalRedisCluster.start();
    // REDIS_WRITE_REPLICAS unset: the cluster default (1) applies. The longest wait the API allows (not the default
    // 500 ms): on a loaded 2-core machine a replica's answer to the master's GETACK has come later than 500 ms (a 503
    // in CI where a 202 was due), and the tests that stop a replica only take longer.
    api = await startInProcessApi({
      redisVariables: { ...clusterRedisEnv(cluster), REDIS_WRITE_TIMEOUT_MS: String(WRITE_TIMEOUT_MS) },
    });
    other = clusterClient(cluster, "write-ack-other");
  });

  after(async () => {
    other?.disconnect();
    await api?.close();
    await cluster?.stop();
  });

  const post = async (path: string, body: unknown, key?: string, base = api.url): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };

  /** The slot of every key of an order placed with this Idempotency-Key (its slot group's hash tag). */
  const slotOfKey = (key: string) => keySlot(api.store.keys.idempotency(PRINCIPAL, key));

  const ownsSlot = (master: ClusterNode, slot: number) =>
    master.slots.some(([a, b]) => slot >= a && slot <= b);

  /** An Idempotency-Key whose order lives on `master`, or (with `not`) on another master. */
  const keyOn = (master: ClusterNode, not = false): string => {
    for (;;) {
      const key = randomUUID();
      if (ownsSlot(master, slotOfKey(key)) !== not) return key;
    }
  };

  const replicaOf = async (master: ClusterNode): Promise<ClusterNode> => {
    const replica = (await cluster.nodes()).find((n) => n.masterId === master.id && !n.failing);
    assert.ok(replica?.pid, `master ${master.port} has no running replica`);
    return replica;
  };

  /** Runs `body` while the replica's process is stopped (it holds its connections but answers nothing). */
  const withReplicaStopped = async <T>(replica: ClusterNode, body: () => Promise<T>): Promise<T> => {
    process.kill(replica.pid!, "SIGSTOP");
    try {
      return await body();
    } finally {
      process.kill(replica.pid!, "SIGCONT");
    }
  };

  /** Order hashes of this test's environment on every master (the history lists excluded). */
  const orderHashes = async (): Promise<string[]> => {
    const client = api.redis as Cluster;
    const found: string[] = [];
    for (const node of client.nodes("master")) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(
          cursor,
          "MATCH",
          `${api.store.keys.prefix}order:*`,
          "COUNT",
          1000,
        );
        cursor = next;
        found.push(...keys.filter((k) => !k.endsWith(":history")));
      } while (cursor !== "0");
    }
    return found;
  };

  const placedEvent = (order: OrderPlacedData) =>
    newCloudEvent({
      type: "order.placed",
      source: "/test",
      subject: `order/${order.orderId}`,
      data: order,
      orderversion: 1,
    });

  /** Runs `run` on a connection of its own to the node on `port`. */
  const onNode = async <T>(port: number, run: (node: Redis) => Promise<T>): Promise<T> => {
    const node = new Redis({ host: "127.0.0.1", port, lazyConnect: true });
    try {
      return await run(node);
    } finally {
      node.disconnect();
    }
  };

  /**
   * Until the API takes orders for `master` again: after a write its replicas did not confirm, it refuses that
   * master's writes for a moment (ReplicasBehindError), and a test must not start inside another test's moment.
   */
  const untilAccepting = (master: ClusterNode) =>
    waitFor(async () => (await post("/v1/orders", validOrder(), keyOn(master))).status === 202, {
      timeoutMs: 30_000,
      intervalMs: 250,
      description: `orders for master ${master.port} to be accepted again`,
    });

  const unacknowledgedCount = async (operation: string): Promise<number> => {
    const metric = await api.registry.getSingleMetric("eventfleet_redis_write_unacknowledged_total")?.get();
    return metric?.values.find((v) => v.labels.operation === operation)?.value ?? 0;
  };

  test("an order is answered 202 once a replica confirmed it: WAIT on its master counts 1", async () => {
    const answer = await post("/v1/orders", validOrder(), randomUUID());
    assert.equal(answer.status, 202, JSON.stringify(answer.body));

    // The same write through the store, which reports WAIT's answer.
    const orderId = api.store.newOrderId();
    const order = { ...validOrder(), orderId, totalCents: 3499, placedAt: new Date().toISOString() };
    const result = await api.store.createOrder({
      order: order as unknown as OrderPlacedData,
      event: placedEvent(order as unknown as OrderPlacedData),
    });
    assert.equal(result.outcome, "created");
    assert.ok(
      result.outcome === "created" && (result.acknowledgedBy ?? 0) >= 1,
      `WAIT answered ${JSON.stringify(result)}; expected at least 1 replica`,
    );
  });

  test("a stopped replica of another master does not hold up an order: WAIT goes to the order's own master", async () => {
    const [master] = await cluster.masters();
    const other = await replicaOf(master!);
    const key = keyOn(master!, true);
    const answer = await withReplicaStopped(other, () => post("/v1/orders", validOrder(), key));
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
  });

  test("an order its master's replica cannot confirm is answered 503 + Retry-After; the retry with the same key returns that order, and only it exists", async () => {
    const [master] = await cluster.masters();
    const replica = await replicaOf(master!);
    const key = keyOn(master!);
    const body = validOrder();
    const before503 = await unacknowledgedCount("place_order");
    const ordersBefore = (await orderHashes()).length;
    // Another API replica: its connection to the master is open from before the order (WAIT counts from the last
    // write of the connection it is sent on, and this one has written nothing since).
    const elsewhere = new OrderStore(other, { env: api.env, writeAck: { replicas: 1, timeoutMs: 300 } });
    await other.exists(api.store.keys.idempotency(PRINCIPAL, key));

    const refused = await withReplicaStopped(replica, async () => {
      const answer = await post("/v1/orders", body, key);
      // The retry reaching the other replica replays the stored answer; the replay rewrites the key, so its WAIT
      // waits for what the master has now, the order included, and the stopped replica cannot confirm it either.
      const orderId = elsewhere.newOrderId({ principal: PRINCIPAL, key });
      const order = { ...body, orderId, totalCents: 3499, placedAt: new Date().toISOString() };
      await assert.rejects(
        elsewhere.createOrder({
          order: order as unknown as OrderPlacedData,
          event: placedEvent(order as unknown as OrderPlacedData),
          idempotency: {
            principal: PRINCIPAL,
            key,
            fingerprint: requestFingerprint(body),
            response: "{}",
            ttlSeconds: 600,
          },
        }),
        WriteNotAcknowledgedError,
      );
      return answer;
    });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.match(refused.headers.get("content-type") ?? "", /application\/problem\+json/);
    assert.equal(refused.body.type, "https://eventfleet.dev/problems/write-not-acknowledged");
    assert.match(String(refused.body.detail), /0 of the 1 replica\(s\) required \(REDIS_WRITE_REPLICAS\)/);
    assert.match(String(refused.body.detail), /retry with the same Idempotency-Key/);
    assert.equal(await unacknowledgedCount("place_order"), before503 + 1);
    // The order is on the master already (what a surviving master would keep and publish).
    const orderId = /order ([0-9a-f-]{36})/.exec(String(refused.body.detail))?.[1];
    assert.ok(orderId, `the detail names the order: ${String(refused.body.detail)}`);
    assert.ok(
      ownsSlot(master!, keySlot(api.store.keys.order(orderId))),
      "the order is on the stopped replica's master",
    );
    assert.equal((await api.store.getOrder(orderId))?.status, "ACKNOWLEDGED");

    // The replica resumes; the client retries with the same key and body until it is answered.
    const retried = await waitFor(
      async () => {
        const answer = await post("/v1/orders", body, key);
        return answer.status === 202 ? answer : false;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        description: "the retry with the same Idempotency-Key to be accepted",
      },
    );
    assert.equal(retried.body.id, orderId);
    assert.equal(retried.headers.get("idempotent-replayed"), "true");
    const orders = await orderHashes();
    assert.equal(orders.filter((k) => k.endsWith(orderId)).length, 1);
    assert.equal(
      orders.length,
      ordersBefore + 1,
      "one order for the refused request and its retry, no second",
    );
  });

  test("a cancel its master's replica cannot confirm is answered 503; the order is CANCELLED once the master keeps it", async () => {
    const [master] = await cluster.masters();
    const replica = await replicaOf(master!);
    const placed = await post("/v1/orders", validOrder(), keyOn(master!));
    assert.equal(placed.status, 202, JSON.stringify(placed.body));
    const id = String(placed.body.id);
    const before503 = await unacknowledgedCount("cancel_order");

    const refused = await withReplicaStopped(replica, () =>
      post(`/v1/orders/${id}/cancel`, { reason: "changed my mind" }),
    );
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal(refused.body.type, "https://eventfleet.dev/problems/write-not-acknowledged");
    assert.match(String(refused.body.detail), new RegExp(`GET /v1/orders/${id}`));
    assert.equal(await unacknowledgedCount("cancel_order"), before503 + 1);
    assert.equal((await api.store.getOrder(id))?.status, "CANCELLED");
    await untilAccepting(master!);
  });

  test("right after its replicas came up short, an order for that master is refused at once and not written; other masters take orders", async () => {
    const [master] = await cluster.masters();
    const replica = await replicaOf(master!);
    await untilAccepting(master!);
    const before = await unacknowledgedCount("place_order");
    const { first, refused, elsewhere, ordersBefore } = await withReplicaStopped(replica, async () => {
      const first = await post("/v1/orders", validOrder(), keyOn(master!));
      const ordersBefore = (await orderHashes()).length;
      const started = performance.now();
      const refused = await post("/v1/orders", validOrder(), keyOn(master!));
      const elsewhere = await post("/v1/orders", validOrder(), keyOn(master!, true));
      return { first, refused: { ...refused, ms: performance.now() - started }, elsewhere, ordersBefore };
    });
    assert.equal(first.body.type, "https://eventfleet.dev/problems/write-not-acknowledged");
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.type, "https://eventfleet.dev/problems/replicas-behind");
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.ok(
      refused.ms < WRITE_TIMEOUT_MS / 2,
      `refused in ${Math.round(refused.ms)} ms, not after a WAIT of ${WRITE_TIMEOUT_MS} ms`,
    );
    assert.equal(elsewhere.status, 202, JSON.stringify(elsewhere.body));
    assert.equal((await orderHashes()).length, ordersBefore + 1, "the refused order was not written");
    assert.equal(await unacknowledgedCount("place_order"), before + 2);
    // Once the replica confirms again (after the hold), orders for that master are taken.
    await untilAccepting(master!);
  });

  test("while a WAIT holds the write connection, reads of that master's orders answer at once", async () => {
    // A longer wait, so that a read queued behind it could not pass unnoticed.
    const slow = await startInProcessApi({
      redisVariables: { ...clusterRedisEnv(cluster), REDIS_WRITE_TIMEOUT_MS: "1500" },
    });
    try {
      const [master] = await cluster.masters();
      const replica = await replicaOf(master!);
      const placed = await post("/v1/orders", validOrder(), keyOn(master!), slow.url);
      assert.equal(placed.status, 202, JSON.stringify(placed.body));
      const { write, readMs, readStatus } = await withReplicaStopped(replica, async () => {
        const write = post("/v1/orders", validOrder(), keyOn(master!), slow.url);
        await waitFor(
          async () =>
            /flags=b[^\n]*cmd=wait/.test(
              await onNode(master!.port, (n) => n.client("LIST") as Promise<string>),
            ),
          { timeoutMs: 10_000, intervalMs: 20, description: "the order's WAIT to be pending on its master" },
        );
        const started = performance.now();
        const read = await fetch(`${slow.url}/v1/orders/${String(placed.body.id)}`);
        await read.arrayBuffer();
        const readMs = performance.now() - started;
        return { write: await write, readMs, readStatus: read.status };
      });
      assert.equal(write.status, 503);
      assert.equal(readStatus, 200);
      assert.ok(readMs < 500, `the read took ${Math.round(readMs)} ms: it waited behind the WAIT`);
    } finally {
      await slow.close();
    }
  });

  /** `cmdstat_<command>` of a node's INFO commandstats: calls (run) and rejected_calls (e.g. answered MOVED/ASK). */
  const commandStats = async (port: number, command: string) => {
    const line = new RegExp(`^cmdstat_${command}:(.*)$`, "m").exec(
      await onNode(port, (n) => n.info("commandstats")),
    )?.[1];
    const field = (name: string) => Number(new RegExp(`\\b${name}=(\\d+)`).exec(line ?? "")?.[1] ?? 0);
    return { calls: field("calls"), rejected: field("rejected_calls") };
  };

  /** The order scripts a node ran and refused (redirected): ioredis sends EVAL first on a connection, then EVALSHA. */
  const scriptStats = async (port: number) => {
    const [evalStats, evalshaStats] = [await commandStats(port, "eval"), await commandStats(port, "evalsha")];
    return {
      calls: evalStats.calls + evalshaStats.calls,
      rejected: evalStats.rejected + evalshaStats.rejected,
    };
  };

  /** How often a node answered an error starting with `prefix` (INFO errorstats). */
  const errorCount = async (port: number, prefix: string) =>
    Number(
      new RegExp(`^errorstat_${prefix}:count=(\\d+)`, "m").exec(
        await onNode(port, (n) => n.info("errorstats")),
      )?.[1] ?? 0,
    );

  /**
   * Runs `body` with an API of its own with many slot groups (so that a slot group can have a slot with no other keys)
   * and two masters; afterwards the cluster must be healthy again (no slot left migrating, every node agreeing).
   */
  const withSlotGroupApi = async (
    body: (api: InProcessApi, from: ClusterNode, to: ClusterNode) => Promise<void>,
  ) => {
    const api = await startInProcessApi({
      redisVariables: {
        ...clusterRedisEnv(cluster),
        REDIS_SLOT_GROUPS: "1024",
        REDIS_WRITE_TIMEOUT_MS: String(WRITE_TIMEOUT_MS),
      },
    });
    try {
      const [from, to] = await cluster.masters();
      await body(api, from!, to!);
      await cluster.waitHealthy();
    } finally {
      await api.close();
    }
  };

  const assertOrderOn = async (master: ClusterNode, api: InProcessApi, orderId: unknown) =>
    assert.equal(
      await onNode(master.port, (n) => n.exists(api.store.keys.order(String(orderId)))),
      1,
      `order ${String(orderId)} is on the slot's new master ${master.port}`,
    );

  /** An Idempotency-Key of `api` whose orders' slot is on `master` and holds no key yet: nothing else moves with it. */
  const keyInEmptySlot = async (api: InProcessApi, master: ClusterNode) => {
    for (;;) {
      const key = randomUUID();
      const slot = keySlot(api.store.keys.idempotency(PRINCIPAL, key));
      if (
        ownsSlot(master, slot) &&
        (await onNode(master.port, (n) => n.cluster("COUNTKEYSINSLOT", slot))) === 0
      )
        return { key, slot };
    }
  };

  /** Another Idempotency-Key of `api` whose orders are in `slot`. */
  const keyInSlot = (api: InProcessApi, slot: number): string => {
    for (;;) {
      const key = randomUUID();
      if (keySlot(api.store.keys.idempotency(PRINCIPAL, key)) === slot) return key;
    }
  };

  /** A slot migration step by step, as `redis-cli --cluster reshard` does it for each slot. */
  const migration = (slot: number, from: ClusterNode, to: ClusterNode) => ({
    /** `to` imports the slot, `from` migrates it: `from` answers ASK for keys it no longer has. */
    start: async () => {
      await onNode(to.port, (n) => n.call("CLUSTER", "SETSLOT", slot, "IMPORTING", from.id));
      await onNode(from.port, (n) => n.call("CLUSTER", "SETSLOT", slot, "MIGRATING", to.id));
    },
    /** Moves every key of the slot from `from` to `to` (MIGRATE). */
    moveKeys: () =>
      onNode(from.port, async (n) => {
        for (;;) {
          const keys = (await n.call("CLUSTER", "GETKEYSINSLOT", slot, 100)) as string[];
          if (keys.length === 0) return;
          await n.call("MIGRATE", "127.0.0.1", to.port, "", 0, 10_000, "KEYS", ...keys);
        }
      }),
    /** Runs `body` between start and end (which also moves the keys left). */
    async during<T>(body: () => Promise<T>): Promise<T> {
      await this.start();
      try {
        return await body();
      } finally {
        await this.moveKeys();
        await this.end();
      }
    },
    /**
     * The slot is `to`'s: SETSLOT NODE on `to` first (it bumps its config epoch, so that gossip spreads the news),
     * then on the other masters. Their replicas learn it by gossip, later.
     */
    end: async () => {
      const masters = (await cluster.nodes()).filter((n) => n.role === "master");
      for (const master of [to, ...masters.filter((m) => m.id !== to.id)])
        await onNode(master.port, (n) => n.call("CLUSTER", "SETSLOT", slot, "NODE", to.id));
    },
  });

  /**
   * Runs `body` while no node answers CLUSTER SLOTS (an ACL refuses it): a client's refresh of its slot map reads
   * nothing new, as when every node it asks has not yet heard of a move (replicas learn by gossip, seconds later on
   * a loaded machine), but for as long as the test needs instead of by chance.
   */
  const withSlotMapsRefused = async <T>(body: () => Promise<T>): Promise<T> => {
    const acl = (rule: string) =>
      Promise.all(
        cluster.ports.map((port) => onNode(port, (n) => n.call("ACL", "SETUSER", "default", rule))),
      );
    await acl("-cluster|slots");
    try {
      return await body();
    } finally {
      await acl("+cluster|slots");
    }
  };

  test("an order whose slot moved since the API last looked, while no node gives it the new slot map, is acknowledged on the new master: the write goes where MOVED says, and the next one there directly", () =>
    withSlotGroupApi(async (api, from, to) => {
      // Its write connection learns the slot map now, with its first order.
      const first = await post("/v1/orders", validOrder(), randomUUID(), api.url);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const { key, slot } = await keyInEmptySlot(api, from);

      const { answer, redirected, cancel, redirectedAgain } = await withSlotMapsRefused(async () => {
        // No keys to move: the slot changes owner at once, on the masters.
        const move = migration(slot, from, to);
        await move.start();
        await move.end();
        const before = await scriptStats(from.port);
        const answer = await post("/v1/orders", validOrder(), key, api.url);
        const redirected = (await scriptStats(from.port)).rejected - before.rejected;
        // A write of the same slot afterwards: the write connection's map points to the new master now.
        const cancel = await post(`/v1/orders/${String(answer.body.id)}/cancel`, {}, undefined, api.url);
        const redirectedAgain = (await scriptStats(from.port)).rejected - before.rejected - redirected;
        return { answer, redirected, cancel, redirectedAgain };
      });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assert.equal(redirected, 1, "the old master answered MOVED once; the write went to the new one next");
      await assertOrderOn(to, api, answer.body.id);
      assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
      assert.equal(redirectedAgain, 0, "the cancel went to the new master directly");
    }));

  test("a cancel whose order's keys were migrated while the slot is still migrating is written on the importing master after ASK, with ASKING, and WAIT is counted there", () =>
    withSlotGroupApi(async (api, from, to) => {
      const { key, slot } = await keyInEmptySlot(api, from);
      const placed = await post("/v1/orders", validOrder(), key, api.url);
      assert.equal(placed.status, 202, JSON.stringify(placed.body));
      const id = String(placed.body.id);
      const move = migration(slot, from, to);
      await move.during(async () => {
        await move.moveKeys();
        const before = { from: await scriptStats(from.port), to: await scriptStats(to.port) };
        const waitsBefore = (await commandStats(to.port, "wait")).calls;

        const cancelled = await post(`/v1/orders/${id}/cancel`, { reason: "moving" }, undefined, api.url);
        assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
        const after = { from: await scriptStats(from.port), to: await scriptStats(to.port) };
        const ran = (node: "from" | "to") => after[node].calls - before[node].calls;
        const refused = (node: "from" | "to") => after[node].rejected - before[node].rejected;
        assert.equal(refused("from"), 1, "the old master answered ASK for the script");
        assert.equal(ran("from"), 0, "the script did not run on the old master");
        assert.equal(ran("to"), 1, "the script ran on the importing master");
        assert.equal(refused("to"), 0, "the importing master took it (ASKING came first)");
        assert.equal(
          (await commandStats(to.port, "wait")).calls - waitsBefore,
          1,
          "the cancel's WAIT ran on the importing master, on the script's connection",
        );
      });
      assert.equal((await api.store.getOrder(id))?.status, "CANCELLED");
      await assertOrderOn(to, api, id);
    }));

  test("an order for a slot in migration is sent again while the importing master answers TRYAGAIN: 503 once the migration outlasts the API's Redis command timeout, 202 on the new master when it ends in time", () =>
    withSlotGroupApi(async (api, from, to) => {
      // An empty slot: the old master has none of a new order's keys (ASK) and the importing one not all of them
      // (TRYAGAIN, as a script over several keys there cannot run until the slot is settled).
      const { key, slot } = await keyInEmptySlot(api, from);
      const move = migration(slot, from, to);
      await move.during(async () => {
        const tryAgainBefore = await errorCount(to.port, "TRYAGAIN");
        const started = performance.now();
        const refused = await post("/v1/orders", validOrder(), key, api.url);
        const refusedMs = performance.now() - started;
        assert.equal(refused.status, 503, JSON.stringify(refused.body));
        assert.equal(refused.body.type, "https://eventfleet.dev/problems/dependency-unavailable");
        assert.ok(
          (await errorCount(to.port, "TRYAGAIN")) - tryAgainBefore >= 2,
          "the importing master said TRYAGAIN, more than once",
        );
        // Given up after about REDIS_PROFILES.request.commandTimeout (2000 ms) less one pause, not after a count.
        assert.ok(refusedMs >= 1500, `refused after ${Math.round(refusedMs)} ms, before the deadline`);

        const tryAgainNow = await errorCount(to.port, "TRYAGAIN");
        const pending = post("/v1/orders", validOrder(), keyInSlot(api, slot), api.url);
        await waitFor(async () => (await errorCount(to.port, "TRYAGAIN")) > tryAgainNow, {
          timeoutMs: 10_000,
          intervalMs: 10,
          description: "the importing master to answer the order TRYAGAIN",
        });
        await move.end();
        const answer = await pending;
        assert.equal(answer.status, 202, JSON.stringify(answer.body));
        await assertOrderOn(to, api, answer.body.id);
      });
    }));

  // Last: it leaves the cluster with a fourth master.
  test("an order whose slot moved to a master added since the API last looked (a scale-out) is acknowledged there: the write connection connects to the node MOVED names", () =>
    withSlotGroupApi(async (api, from) => {
      // Its write connection learns the slot map now, with its first order: the nodes it connects to are those.
      const first = await post("/v1/orders", validOrder(), randomUUID(), api.url);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const added = await cluster.addShard();
      const { key, slot } = await keyInEmptySlot(api, from);
      const answer = await withSlotMapsRefused(async () => {
        const move = migration(slot, from, added);
        await move.start();
        await move.end();
        return post("/v1/orders", validOrder(), key, api.url);
      });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      await assertOrderOn(added, api, answer.body.id);
    }));
});
