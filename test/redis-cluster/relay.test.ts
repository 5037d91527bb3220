// The outbox on a real Redis Cluster (3 masters + 3 replicas): orders written through the API's store land in the
// stream of their slot group, spread over every master; the relay (one consumer per stream, built on the roles'
// connection factory) publishes every entry exactly once; two relays share the streams; and the layout before slot
// groups, one script over an order, the single outbox and stock, is refused by the cluster (CROSSSLOT).
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { Cluster } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { readOutboxBacklogs } from "../../api/outbox-backlog.ts";
import { OutboxRelay, RELAY_GROUP, RELAY_SNS_TUNING } from "../../api/outbox-relay.ts";
import { createSnsClient } from "../../shared/aws-clients.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { connectRedis, type RedisClient, type WatchedRedis } from "../../shared/redis-connection.ts";
import { keySlot } from "../../shared/redis-slot.ts";
import { clusterClient, clusterRedisConfig } from "../support/cluster-redis-config.ts";
import { startLocalFauxqs, type LocalFauxqs } from "../support/local-fauxqs.ts";
import { placedEvent } from "../support/order-event-fixtures.ts";
import { QueueReader } from "../support/queue-reader.ts";
import { LocalRedisCluster } from "../support/redis-cluster.ts";
import { waitFor } from "../support/wait.ts";

/** Every warning and error the relays log: a CROSSSLOT (or any other Redis error) would show here. */
const logs: string[] = [];
const logger = pino({ level: "warn" }, { write: (line: string) => logs.push(line) });

describe("the outbox relay on a Redis Cluster", () => {
  let cluster: LocalRedisCluster;
  let fauxqs: LocalFauxqs;
  let redis: RedisClient;
  let sns: SNSClient;
  const relays: { relay: OutboxRelay; connection: WatchedRedis }[] = [];
  const readers: QueueReader[] = [];

  before(async () => {
    cluster = await LocalRedisCluster.start();
    fauxqs = await startLocalFauxqs(`rc${randomUUID().slice(0, 6)}`);
    redis = clusterClient(cluster);
    sns = createSnsClient(
      { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL: fauxqs.env.AWS_ENDPOINT_URL },
      RELAY_SNS_TUNING,
    );
  });
  afterEach(async () => {
    for (const { relay, connection } of relays.splice(0)) {
      await relay.stop();
      connection.disconnect();
    }
    for (const reader of readers.splice(0)) reader.close();
  });
  after(async () => {
    sns?.destroy();
    redis?.disconnect();
    await fauxqs?.stop();
    await cluster?.stop();
  });

  function startRelays(env: string, count: number): Registry {
    const registry = new Registry();
    for (let i = 0; i < count; i++) {
      // As `eventfleet relay` builds it: the factory, from REDIS_CLUSTER_NODES and REDIS_URL.
      const connection = connectRedis(clusterRedisConfig(cluster), logger, {
        name: `relay-${i}`,
        profile: "request",
      });
      const relay = new OutboxRelay({
        redis: connection,
        sns,
        topicArn: fauxqs.env.ORDERS_TOPIC_ARN!,
        env,
        logger: logger.child({ relay: i }),
        registry: i === 0 ? registry : new Registry(),
        blockMs: 300,
        trimIntervalMs: 200,
        backoffMaxMs: 500,
      });
      relays.push({ relay, connection });
      relay.start();
    }
    return registry;
  }

  test("orders spread over every master; two relays publish each outbox entry exactly once", async () => {
    const env = `t${randomUUID().slice(0, 8)}`;
    const store = new OrderStore(redis, { env });
    const inventory = new QueueReader(fauxqs.env, fauxqs.env.INVENTORY_QUEUE_URL!);
    readers.push(inventory);
    const events = Array.from({ length: 160 }, () => placedEvent());
    // Written as the API writes them: the order and its order.placed in one script, in the order's slot group.
    for (const event of events) await store.createOrder({ order: event.data, event });

    const masters = await cluster.masters();
    const ownerOf = (slot: number) =>
      masters.find((m) => m.slots.some(([first, last]) => slot >= first && slot <= last))?.port;
    const streamOwners = new Set(store.keys.outboxStreams().map((stream) => ownerOf(keySlot(stream))));
    assert.equal(streamOwners.size, masters.length, "the 16 outbox streams live on every master");
    for (const stream of store.keys.outboxStreams())
      assert.equal(
        keySlot(stream),
        Number(await redis.cluster("KEYSLOT", stream)),
        "slot as Redis computes it",
      );

    startRelays(env, 2);
    await waitFor(
      async () => {
        const seen = new Set((await inventory.poll()).map((r) => String(r.body.id)));
        return events.every((e) => seen.has(e.id));
      },
      { timeoutMs: 60_000, intervalMs: 200, description: "all 160 order.placed on the inventory queue" },
    );
    await waitFor(
      async () =>
        (await readOutboxBacklogs(redis, store.keys.outboxStreams(), RELAY_GROUP)).unacknowledged === 0,
      { timeoutMs: 30_000, description: "every entry acknowledged" },
    );
    // Anything published twice would arrive by now (no relay died, nothing was retried).
    await inventory.poll();
    const ours = inventory.received.filter((r) => events.some((e) => e.id === r.body.id));
    assert.equal(ours.length, events.length, "each entry published exactly once");
    assert.deepEqual(
      logs.filter((line) => !line.includes("eventfleet requires")),
      [],
      "no relay warned or failed (no CROSSSLOT, no Redis error)",
    );
  });

  test("the layout before slot groups cannot run on a cluster: one script over order, outbox and stock is CROSSSLOT", async () => {
    const env = `t${randomUUID().slice(0, 8)}`;
    const old = [`ef:${env}:order:${randomUUID()}`, `ef:${env}:outbox`, `ef:${env}:stock:SKU-1`];
    assert.ok(new Set(old.map(keySlot)).size > 1, "the former keys live in several slots");
    // Asked directly (the cluster client would refuse it before sending), a master answers CROSSSLOT.
    const node = (redis as Cluster).nodes("master")[0]!;
    await assert.rejects(node.eval("return 1", old.length, ...old), /CROSSSLOT/);
    // The new layout of the same order: order, history, outbox stream, reservation in one slot.
    const store = new OrderStore(redis, { env });
    const orderId = randomUUID();
    const keys = [
      store.keys.order(orderId),
      store.keys.history(orderId),
      store.keys.outboxOf(orderId),
      store.keys.reservation(orderId),
      store.keys.shipment(orderId),
    ];
    assert.equal(new Set(keys.map(keySlot)).size, 1);
    assert.equal(await redis.eval("return 1", keys.length, ...keys), 1);
  });
});
