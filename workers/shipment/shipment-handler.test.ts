// The shipment handler against a real Redis: one shipment per order, none after a cancel, stock committed once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import { orderSubject } from "../../shared/events/order-events.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { SagaSteps } from "../../shared/orders/saga-steps.ts";
import { handlerContext } from "../../test/support/handler-context.ts";
import { cancelledEvent, placedEvent } from "../../test/support/order-event-fixtures.ts";
import { getStack } from "../../test/support/stack.ts";
import { createShipmentHandler } from "./shipment-handler.ts";
import { Shipments } from "./shipments.ts";
import { outboxEntries } from "../../test/support/outbox-streams.ts";

let redis: Redis;
let store: OrderStore;
let steps: SagaSteps;
let shipments: Shipments;

before(async () => {
  const { env } = await getStack();
  redis = new Redis(env.REDIS_URL!);
  const name = `t${randomUUID().slice(0, 8)}`;
  store = new OrderStore(redis, { env: name });
  steps = new SagaSteps(redis, { env: name });
  shipments = new Shipments(redis, { env: name });
});

after(() => redis.disconnect());

/** An order whose stock the inventory step reserved, and the inventory.reserved event it announced. */
async function reservedOrder() {
  const sku = `SKU-${randomUUID().slice(0, 8)}`;
  await store.setAvailable(sku, 3);
  const placed = placedEvent({ items: [{ sku, quantity: 2, unitPriceCents: 1 }], totalCents: 2 });
  await store.createOrder({ order: placed.data, event: placed });
  const orderId = placed.data.orderId;
  const reserved = newCloudEvent({
    type: "inventory.reserved",
    source: "/test",
    subject: orderSubject(orderId),
    data: { orderId, items: [{ sku, quantity: 2 }], reservedAt: new Date().toISOString() },
  });
  // The inventory's step (the shipment worker's code does not reach into workers/inventory).
  await steps.reserve(placed.data, {
    eventId: placed.id,
    reserved: () => reserved,
    rejected: () => reserved,
  });
  return { orderId, sku, reserved };
}

const handle = () => createShipmentHandler({ store, steps });

test("inventory.reserved ships once: one shipment, SHIPPED with order.shipped, stock taken out once", async () => {
  const { orderId, sku, reserved } = await reservedOrder();
  const stages: string[] = [];
  await Promise.all([handle()(reserved, handlerContext(stages)), handle()(reserved, handlerContext(stages))]);
  await handle()(reserved, handlerContext(stages));
  const order = await store.getOrder(orderId);
  assert.equal(order?.status, "SHIPPED");
  assert.equal(order?.history.filter((h) => h.stage === "SHIPPED").length, 1);
  assert.deepEqual(stages, ["SHIPPED"]);
  const shipment = await shipments.get(orderId);
  assert.equal(shipment.status, "shipped");
  assert.equal(
    order?.history.find((h) => h.stage === "SHIPPED")?.detail?.trackingNumber,
    shipment.trackingNumber,
  );
  assert.deepEqual(await store.getStock(sku), { sku, available: 1, reserved: 0 });
  const shippedEvents = (await outboxEntries(redis, store.keys)).filter(
    ([, f]) => f.includes("order.shipped") && f.join(" ").includes(orderId),
  );
  assert.equal(shippedEvents.length, 1);
});

test("a cancel before inventory.reserved stops the shipment: none is created", async () => {
  const { orderId, reserved } = await reservedOrder();
  await store.transition(orderId, { allowedFrom: ["INVENTORY_RESERVED"], to: "CANCELLED" });
  await handle()(cancelledEvent(orderId), handlerContext());
  await handle()(reserved, handlerContext());
  assert.equal((await store.getOrder(orderId))?.status, "CANCELLED");
  assert.equal((await shipments.get(orderId)).status, "cancelled");
  assert.equal((await shipments.get(orderId)).trackingNumber, undefined);
});

test("a cancel after shipping changes nothing", async () => {
  const { orderId, reserved } = await reservedOrder();
  await handle()(reserved, handlerContext());
  await handle()(cancelledEvent(orderId), handlerContext());
  assert.equal((await store.getOrder(orderId))?.status, "SHIPPED");
  assert.equal((await shipments.get(orderId)).status, "shipped");
});
