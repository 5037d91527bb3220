// The API answers 2xx for an order or a cancel only once a replica of the master that took the write has it (WAIT
// in the same pipeline, on that master), on a real Redis Cluster (3 masters, a replica each). A replica that cannot
// acknowledge (its process stopped with SIGSTOP) turns the answer into 503 + Retry-After; the write is on the master,
// and the retry with the same Idempotency-Key returns the same order, never a second one. Stopping the replica of
// another master changes nothing, so WAIT went to the order's own master. A slot moved since the API last looked is
// followed (a pipeline gets MOVED for the script only, which ioredis leaves to the caller).
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

  test("an order whose slot moved to another master since the API last looked is acknowledged there: the pipeline follows MOVED", async () => {
    // An API of its own with many slot groups, so that one of them is an empty slot: it moves without migrating keys.
    const moving = await startInProcessApi({
      redisVariables: { ...clusterRedisEnv(cluster), REDIS_SLOT_GROUPS: "1024" },
    });
    try {
      const [from, to, third] = await cluster.masters();
      const slotOf = (key: string) => keySlot(moving.store.keys.idempotency(PRINCIPAL, key));
      const fromSlot = (key: string) => ownsSlot(from!, slotOf(key));
      // Its write connection learns the slot map now, with its first order.
      const first = await post("/v1/orders", validOrder(), randomUUID(), moving.url);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      let key: string;
      do key = randomUUID();
      while (
        !fromSlot(key) ||
        (await onNode(from!.port, (n) => n.cluster("COUNTKEYSINSLOT", slotOf(key)))) !== 0
      );
      for (const master of [to!, from!, third!]) {
        await onNode(master.port, (n) => n.cluster("SETSLOT", slotOf(key), "NODE", to!.id));
      }
      // Replicas learn the new owner by gossip, seconds later on a loaded machine. Until every node says so, the API's
      // refresh after MOVED may read a stale map from one of them and be sent back again (a CI run ended in 503 so):
      // only the API's own map is meant to be stale here.
      const slot = slotOf(key);
      const ownerSeenBy = async (port: number) =>
        onNode(port, async (n) => {
          const ranges = await n.cluster("SLOTS");
          return ranges.find(([a, b]) => slot >= a && slot <= b)?.[2]?.[1];
        });
      await waitFor(
        async () => {
          for (const node of await cluster.nodes())
            if ((await ownerSeenBy(node.port)) !== to!.port) return false;
          return true;
        },
        { timeoutMs: 30_000, description: `every node to see slot ${slot} on ${to!.port}` },
      );

      const answer = await post("/v1/orders", validOrder(), key, moving.url);
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      const orderKey = moving.store.keys.order(String(answer.body.id));
      assert.equal(
        await onNode(to!.port, (n) => n.exists(orderKey)),
        1,
        "the order is on the slot's new master",
      );
    } finally {
      await moving.close();
    }
  });
});
