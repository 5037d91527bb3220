import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createLogger } from "../shared/logger.ts";
import { newCloudEvent, newTraceparent } from "../shared/events/cloudevent.ts";
import { orderSubject } from "../shared/events/order-events.ts";
import { OrderStore, type OutboxEvent } from "../shared/orders/order-store.ts";
import { waitFor } from "../test/support/wait.ts";
import { readOutboxBacklogs } from "./outbox-backlog.ts";
import { outboxLength } from "../test/support/outbox-streams.ts";
import { parseEnv, redisEnv } from "../shared/config.ts";
import { connectRedis } from "../shared/redis-connection.ts";
import { OutboxRelay, RELAY_GROUP, RELAY_SNS_TUNING } from "./outbox-relay.ts";
import { createSnsClient } from "../shared/aws-clients.ts";
import { startLocalFauxqs, type LocalFauxqs } from "../test/support/local-fauxqs.ts";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { QueueReader } from "../test/support/queue-reader.ts";

const logger = createLogger({ role: "relay-test", level: "silent", pretty: false });

/** Lets more than the stall time (500 ms) pass with an empty outbox: an idle relay is not a stuck one. */
async function idlePastStallTime(relay: OutboxRelay): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 800)); // time passing is the point here, not a condition
  relay.checkHealthy();
}

function placedEvent(orderId: string = randomUUID()): OutboxEvent {
  return newCloudEvent({
    type: "order.placed",
    source: "/test",
    subject: orderSubject(orderId),
    data: { orderId },
    traceparent: newTraceparent(),
  });
}

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return Number(value?.value ?? 0);
}

void describe("OutboxRelay against Redis and an SNS/SQS emulator", () => {
  let redisServer: LocalRedis;
  let fauxqs: LocalFauxqs;
  let redis: Redis;
  let sns: SNSClient;
  const relays: OutboxRelay[] = [];
  const readers: QueueReader[] = [];

  before(async () => {
    redisServer = await startLocalRedis();
    fauxqs = await startLocalFauxqs(`r${randomUUID().slice(0, 8)}`);
    redis = new Redis(redisServer.url);
    sns = createSnsClient(
      { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL: fauxqs.env.AWS_ENDPOINT_URL },
      RELAY_SNS_TUNING,
    );
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    for (const reader of readers.splice(0)) reader.close();
  });
  after(async () => {
    sns.destroy();
    redis.disconnect();
    await fauxqs.stop();
    await redisServer.stop();
  });

  /** A fresh environment (own outbox stream), a relay on it, and a reader of the inventory queue. */
  function setup(options: { claimIdleMs?: number; relays?: number; start?: boolean; sns?: SNSClient } = {}) {
    const env = `t${randomUUID().slice(0, 8)}`;
    const store = new OrderStore(redis, { env });
    const registry = new Registry();
    for (let i = 0; i < (options.relays ?? 1); i++) {
      const relay = new OutboxRelay({
        redis,
        sns: options.sns ?? sns,
        topicArn: fauxqs.env.ORDERS_TOPIC_ARN!,
        env,
        logger,
        registry: i === 0 ? registry : new Registry(),
        blockMs: 200,
        claimIdleMs: options.claimIdleMs ?? 30_000,
        trimIntervalMs: 100,
        backoffMaxMs: 500,
      });
      relays.push(relay);
      if (options.start !== false) relay.start();
    }
    // Earlier tests' events may still sit in the shared queue; each test looks only at its own ids.
    const inventory = new QueueReader(fauxqs.env, fauxqs.env.INVENTORY_QUEUE_URL!);
    readers.push(inventory);
    return { env, store, registry, inventory };
  }

  const arrived = (reader: QueueReader, ids: string[], description: string) =>
    waitFor(
      async () => {
        const seen = new Set((await reader.poll()).map((r) => String(r.body.id)));
        return ids.every((id) => seen.has(id));
      },
      { timeoutMs: 30_000, intervalMs: 100, description },
    );

  void test("publishes outbox events to SNS with type and traceparent attributes, acknowledges and trims them", async () => {
    const { store, registry, inventory } = setup();
    const events = Array.from({ length: 23 }, () => placedEvent());
    await store.appendToOutbox(events);
    await arrived(
      inventory,
      events.map((e) => e.id),
      "all 23 events on the inventory queue",
    );
    const first = inventory.received.find((r) => r.body.id === events[0]!.id)!;
    assert.deepEqual(first.body, events[0]);
    assert.equal(first.attributes.type, "order.placed");
    assert.equal(first.attributes.traceparent, events[0]!.traceparent);
    await waitFor(async () => (await outboxLength(redis, store.keys)) === 0, {
      description: "acknowledged entries trimmed off the stream",
    });
    assert.equal(
      (await readOutboxBacklogs(redis, store.keys.outboxStreams(), RELAY_GROUP)).unacknowledged,
      0,
    );
    assert.equal(await metric(registry, "eventfleet_relay_publishes_total", { outcome: "success" }), 23);
    assert.equal(await metric(registry, "eventfleet_outbox_pending"), 0);
  });

  void test("a relay started while its Redis connection is still being made publishes without logging a failure", async () => {
    const { env, store, inventory } = setup({ start: false });
    const warnings: string[] = [];
    const captured = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
    // As in `eventfleet api`: the connection is made in the background and fails fast instead of queueing.
    const connecting = connectRedis(parseEnv(redisEnv, { REDIS_URL: redisServer.url }), captured, {
      name: "relay-test",
      profile: "request",
    });
    assert.notEqual(connecting.status, "ready");
    const relay = new OutboxRelay({
      redis: connecting,
      sns,
      topicArn: fauxqs.env.ORDERS_TOPIC_ARN!,
      env,
      logger: captured,
      registry: new Registry(),
      blockMs: 200,
    });
    relays.push(relay);
    relay.start();
    const event = placedEvent();
    await store.appendToOutbox([event]);
    await arrived(inventory, [event.id], "the event published");
    await relay.stop();
    connecting.disconnect();
    // The test Redis runs without persistence or replica on purpose: its start-up reminder is not a failure.
    assert.deepEqual(
      warnings.filter((w) => !w.includes("eventfleet requires")),
      [],
    );
  });

  void test("an entry read by a relay that died before publishing is taken over and published", async () => {
    const { store, inventory } = setup({ claimIdleMs: 300, start: false });
    const [lost, later] = [placedEvent(), placedEvent()];
    await store.appendToOutbox([lost]);
    const stream = store.keys.outboxOf(lost.subject!.replace("order/", ""));
    // The dead relay: it joined the group and read the entry, then vanished without publishing or XACK.
    await redis.xgroup("CREATE", stream, RELAY_GROUP, "0", "MKSTREAM");
    const read = await redis.xreadgroup(
      "GROUP",
      RELAY_GROUP,
      "dead-relay",
      "COUNT",
      10,
      "STREAMS",
      stream,
      ">",
    );
    assert.equal((read as [string, unknown[]][])[0]![1].length, 1);
    await store.appendToOutbox([later]);
    relays[0]!.start();
    await arrived(inventory, [lost.id, later.id], "both events published");
    await waitFor(
      async () =>
        (await readOutboxBacklogs(redis, store.keys.outboxStreams(), RELAY_GROUP)).unacknowledged === 0,
      {
        description: "nothing left pending",
      },
    );
    const copies = inventory.received.filter((r) => r.body.id === lost.id);
    assert.ok(copies.every((c) => JSON.stringify(c.body) === JSON.stringify(lost)));
  });

  void test("SNS down while events are written: the relay backs off and publishes every one once SNS is back", async () => {
    const { store, registry, inventory } = setup();
    await fauxqs.stop();
    try {
      const events = Array.from({ length: 15 }, () => placedEvent());
      for (const event of events) await store.appendToOutbox([event]);
      await waitFor(
        async () => (await metric(registry, "eventfleet_relay_publishes_total", { outcome: "retry" })) > 0,
        {
          description: "the relay retrying while SNS is down",
        },
      );
      const backlog = await readOutboxBacklogs(redis, store.keys.outboxStreams(), RELAY_GROUP);
      assert.equal(backlog.unacknowledged, 15);
      relays[0]!.checkHealthy();
      await fauxqs.start();
      await arrived(
        inventory,
        events.map((e) => e.id),
        "all 15 events after SNS came back",
      );
      await waitFor(
        async () =>
          (await readOutboxBacklogs(redis, store.keys.outboxStreams(), RELAY_GROUP)).unacknowledged === 0,
        { description: "outbox drained" },
      );
    } finally {
      if (!fauxqs.server()) await fauxqs.start();
    }
  });

  void test("failed entries of a partial batch are retried; an entry SNS rejects is retried after the idle time", async () => {
    let calls = 0;
    // SNS accepting the batch except its first entry (a transient failure) and second (SNS blames the sender).
    const partial = {
      send: async (command: PublishBatchCommand) => {
        calls += 1;
        const entries = command.input.PublishBatchRequestEntries ?? [];
        if (calls > 1 || entries.length < 3) return sns.send(command);
        const rest = await sns.send(
          new PublishBatchCommand({ ...command.input, PublishBatchRequestEntries: entries.slice(2) }),
        );
        return {
          Successful: rest.Successful,
          Failed: [
            { Id: entries[0]!.Id, Code: "InternalError", SenderFault: false },
            { Id: entries[1]!.Id, Code: "InvalidParameter", SenderFault: true },
          ],
        };
      },
    } as unknown as SNSClient;
    const { store, registry, inventory } = setup({ sns: partial, claimIdleMs: 500, start: false });
    // Events of one order: one outbox stream, so they are read (and published) as one batch.
    const orderId = randomUUID();
    const events = Array.from({ length: 5 }, () => placedEvent(orderId));
    await store.appendToOutbox(events);
    relays[0]!.start();
    await arrived(
      inventory,
      events.map((e) => e.id),
      "all 5 events, including the two that failed at first",
    );
    assert.equal(await metric(registry, "eventfleet_relay_publishes_total", { outcome: "retry" }), 1);
    assert.equal(await metric(registry, "eventfleet_relay_publishes_total", { outcome: "failed" }), 1);
    await waitFor(
      async () =>
        (await readOutboxBacklogs(redis, store.keys.outboxStreams(), RELAY_GROUP)).unacknowledged === 0,
      { description: "everything acknowledged" },
    );
  });

  void test("Redis restarted empty (no persistence): the relay recreates its group and publishes orders placed after", async () => {
    const { store, inventory } = setup();
    const before = placedEvent();
    await store.appendToOutbox([before]);
    await arrived(inventory, [before.id], "the event written before the crash");
    // A crash of a Redis without persistence (or a failover to an empty replica): stream and group are gone.
    await redisServer.kill();
    await redisServer.start();
    await waitFor(async () => (await redis.ping()) === "PONG", {
      description: "the test's client reconnected",
    });
    const after = placedEvent();
    await store.appendToOutbox([after]);
    await arrived(inventory, [after.id], "the event written after Redis came back empty");
  });

  void test("a relay that cannot publish while entries wait reports a stalled outbox in readiness and metrics", async () => {
    const env = `t${randomUUID().slice(0, 8)}`;
    const store = new OrderStore(redis, { env });
    const registry = new Registry();
    // An SNS that refuses every call: the loop keeps going round, but nothing is ever published.
    const refusing = {
      send: () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })),
    } as unknown as SNSClient;
    const relay = new OutboxRelay({
      redis,
      sns: refusing,
      topicArn: fauxqs.env.ORDERS_TOPIC_ARN!,
      env,
      logger,
      registry,
      blockMs: 100,
      backoffMaxMs: 100,
      stallAfterMs: 500,
    });
    relays.push(relay);
    relay.start();
    await idlePastStallTime(relay);
    assert.equal(await metric(registry, "eventfleet_relay_stalled"), 0, "an empty outbox is not a stall");
    await store.appendToOutbox([placedEvent()]);
    await waitFor(async () => (await metric(registry, "eventfleet_relay_stalled")) === 1, {
      description: "eventfleet_relay_stalled 1",
    });
    assert.throws(() => relay.checkHealthy(), /outbox stalled: nothing published/);
  });

  void test("entries of the single outbox stream of the layout before slot groups are drained too", async () => {
    const { store, inventory } = setup({ start: false });
    const legacy = placedEvent();
    // As the API before slot groups wrote it (a rolling upgrade: an old pod still writes there).
    await redis.xadd(
      store.keys.legacyOutbox,
      "*",
      "event",
      JSON.stringify(legacy),
      "type",
      legacy.type,
      "traceparent",
      legacy.traceparent ?? "",
      "eventId",
      legacy.id,
    );
    const current = placedEvent();
    await store.appendToOutbox([current]);
    relays[0]!.start();
    await arrived(inventory, [legacy.id, current.id], "the legacy entry and the current one");
    assert.ok(relays[0]!.streams.includes(store.keys.legacyOutbox));
    assert.equal(relays[0]!.streams.length, store.keys.slotGroups + 1);
    await waitFor(
      async () =>
        (await readOutboxBacklogs(redis, [store.keys.legacyOutbox], RELAY_GROUP)).unacknowledged === 0,
      { description: "the legacy stream drained" },
    );
  });

  void test("several relays share the outbox and every event is published", async () => {
    const { store, inventory } = setup({ relays: 3 });
    const events = Array.from({ length: 60 }, () => placedEvent());
    await Promise.all(events.map((e) => store.appendToOutbox([e])));
    await arrived(
      inventory,
      events.map((e) => e.id),
      "60 events from 3 relays",
    );
    const ours = inventory.received.filter((r) => events.some((e) => e.id === r.body.id));
    assert.equal(ours.length, 60, "no duplicates when no relay died");
  });
});
