import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { startLocalRedis, type LocalRedis } from "../../test/support/local-redis.ts";
import { newCloudEvent, newTraceparent } from "../events/cloudevent.ts";
import { orderPlacedEvent, orderSubject, type OrderPlacedData } from "../events/order-events.ts";
import { OrderStore } from "./order-store.ts";
import { redisKeys } from "../redis-keys.ts";
import { outboxEntries } from "../../test/support/outbox-streams.ts";

function placed(overrides: Partial<OrderPlacedData> = {}): OrderPlacedData {
  return {
    orderId: randomUUID(),
    customerId: "c-1",
    items: [{ sku: "SKU-1", quantity: 2, unitPriceCents: 1250 }],
    currency: "EUR",
    totalCents: 2500,
    shippingAddress: { name: "A", line1: "Street 1", city: "Town", postalCode: "123", country: "DE" },
    contact: { email: "a@example.com" },
    placedAt: new Date().toISOString(),
    ...overrides,
  };
}

function placedEvent(order: OrderPlacedData) {
  return newCloudEvent({
    type: "order.placed",
    source: "/eventfleet/api",
    subject: orderSubject(order.orderId),
    data: order,
    traceparent: newTraceparent(),
    orderversion: 1,
  });
}

void describe("OrderStore against a real Redis", () => {
  let server: LocalRedis;
  let redis: Redis;
  let store: OrderStore;
  const env = `t${randomUUID().slice(0, 8)}`;

  before(async () => {
    server = await startLocalRedis();
    redis = new Redis(server.url);
    store = new OrderStore(redis, { env });
  });
  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  const outbox = async () =>
    (await outboxEntries(redis, store.keys)).map(([, fields]) => {
      const map: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
      return map;
    });

  void test("createOrder writes the order at version 1 and its order.placed event in the outbox", async () => {
    const order = placed();
    const event = placedEvent(order);
    assert.deepEqual(await store.createOrder({ order, event }), { outcome: "created" });
    const record = await store.getOrder(order.orderId);
    assert.equal(record?.status, "ACKNOWLEDGED");
    assert.equal(record?.version, 1);
    assert.equal(record?.history[0]?.stage, "ACKNOWLEDGED");
    assert.equal(record?.history[0]?.version, 1);
    const entry = (await outbox()).find((e) => e.eventId === event.id);
    assert.ok(entry);
    assert.equal(entry.type, "order.placed");
    assert.equal(entry.traceparent, event.traceparent);
    assert.deepEqual(orderPlacedEvent.parse(JSON.parse(entry.event!)), event);
  });

  void test("createOrder with an idempotency key replays the same request and refuses another", async () => {
    const idempotency = {
      principal: "p",
      key: randomUUID(),
      fingerprint: "f1",
      response: '{"id":"x"}',
      ttlSeconds: 60,
    };
    // The order lives in the key's slot group (one script writes both, on a Redis Cluster too).
    const inGroup = () => placed({ orderId: store.newOrderId(idempotency) });
    const order = inGroup();
    assert.equal(
      (await store.createOrder({ order, event: placedEvent(order), idempotency })).outcome,
      "created",
    );
    const again = inGroup();
    assert.deepEqual(await store.createOrder({ order: again, event: placedEvent(again), idempotency }), {
      outcome: "replay",
      response: '{"id":"x"}',
    });
    assert.equal(await store.getOrder(again.orderId), undefined);
    const other = await store.createOrder({
      order: again,
      event: placedEvent(again),
      idempotency: { ...idempotency, fingerprint: "f2" },
    });
    assert.deepEqual(other, { outcome: "conflict" });
    let elsewhereId = randomUUID();
    while (store.keys.slotGroupOf(elsewhereId) === store.keys.idempotencyGroup("p", idempotency.key))
      elsewhereId = randomUUID();
    const elsewhere = placed({ orderId: elsewhereId });
    await assert.rejects(
      store.createOrder({ order: elsewhere, event: placedEvent(elsewhere), idempotency }),
      /not in the slot group of its Idempotency-Key: take its id from newOrderId\(\)/,
    );
  });

  void test("transition moves forward once, stamps the new version into history and events", async () => {
    const order = placed();
    await store.createOrder({ order, event: placedEvent(order) });
    const reserved = newCloudEvent({
      type: "inventory.reserved",
      source: "/eventfleet/worker/inventory",
      subject: orderSubject(order.orderId),
      data: {
        orderId: order.orderId,
        items: [{ sku: "SKU-1", quantity: 2 }],
        reservedAt: new Date().toISOString(),
      },
    });
    const result = await store.transition(order.orderId, {
      allowedFrom: ["ACKNOWLEDGED"],
      to: "INVENTORY_RESERVED",
      expectedVersion: 1,
      history: { detail: { lines: 1 }, eventId: reserved.id },
      events: [reserved],
    });
    assert.equal(result.applied, true);
    assert.equal(result.order?.status, "INVENTORY_RESERVED");
    assert.equal(result.order?.version, 2);
    assert.deepEqual(result.order?.history[1], {
      stage: "INVENTORY_RESERVED",
      at: result.order?.history[1]?.at,
      status: "INVENTORY_RESERVED",
      eventId: reserved.id,
      detail: { lines: 1 },
      version: 2,
    });
    const entry = (await outbox()).find((e) => e.eventId === reserved.id);
    assert.equal((JSON.parse(entry!.event!) as { orderversion: number }).orderversion, 2);

    const duplicate = await store.transition(order.orderId, {
      allowedFrom: ["ACKNOWLEDGED"],
      to: "INVENTORY_RESERVED",
    });
    assert.equal(duplicate.applied, false);
    assert.equal(duplicate.applied === false && duplicate.reason, "wrong_state");
    assert.equal(duplicate.order?.status, "INVENTORY_RESERVED");
    assert.equal(duplicate.order?.version, 2);
  });

  void test("transition refuses a stale version, a backwards move and an unknown order", async () => {
    const order = placed();
    await store.createOrder({ order, event: placedEvent(order) });
    const stale = await store.transition(order.orderId, {
      allowedFrom: ["ACKNOWLEDGED"],
      to: "CANCELLED",
      expectedVersion: 7,
    });
    assert.equal(stale.applied === false && stale.reason, "stale_version");
    await store.transition(order.orderId, { allowedFrom: ["ACKNOWLEDGED"], to: "CANCELLED" });
    const backwards = await store.transition(order.orderId, {
      allowedFrom: ["CANCELLED"],
      to: "INVENTORY_RESERVED",
    });
    assert.equal(backwards.applied === false && backwards.reason, "wrong_state");
    assert.equal((await store.getOrder(order.orderId))?.status, "CANCELLED");
    const missing = await store.transition(randomUUID(), { allowedFrom: ["ACKNOWLEDGED"], to: "CANCELLED" });
    assert.deepEqual(missing, { applied: false, reason: "not_found", order: undefined });
  });

  void test("appendHistory records a stage at the current version and appends events", async () => {
    const order = placed();
    await store.createOrder({ order, event: placedEvent(order) });
    const result = await store.appendHistory(order.orderId, {
      stage: "NOTIFIED",
      detail: { event: "order.placed" },
    });
    assert.equal(result.applied, true);
    assert.equal(result.order?.version, 1);
    assert.deepEqual(
      result.order?.history.map((h) => [h.stage, h.version]),
      [
        ["ACKNOWLEDGED", 1],
        ["NOTIFIED", 1],
      ],
    );
    assert.equal((await store.appendHistory(randomUUID(), { stage: "NOTIFIED" })).applied, false);
  });

  void test("appendToOutbox appends arbitrary CloudEvents with type and traceparent", async () => {
    const event = newCloudEvent({
      type: "inventory.rejected",
      source: "/test",
      subject: orderSubject(randomUUID()),
      data: {},
    });
    const [id] = await store.appendToOutbox([event]);
    assert.match(id!, /^\d+-\d+$/);
    const entry = (await outbox()).find((e) => e.eventId === event.id);
    assert.equal(entry?.type, "inventory.rejected");
    assert.equal(entry?.traceparent, "");
  });

  void test("stock is a hash per SKU with available and reserved; setAvailable keeps reserved", async () => {
    assert.deepEqual(await store.getStock("NEW"), { sku: "NEW", available: 0, reserved: 0 });
    await redis.hset(redisKeys(env).stock("S1"), "reserved", 3);
    assert.deepEqual(await store.setAvailable("S1", 10), { sku: "S1", available: 10, reserved: 3 });
    assert.deepEqual(await store.getStock("S1"), { sku: "S1", available: 10, reserved: 3 });
  });
});
