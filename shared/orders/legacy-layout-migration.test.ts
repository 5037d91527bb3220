// The move from the key layout before slot groups, against a real Redis: orders written the former way (no hash
// tags, stock and reservation moved together) are read, shipped and reserved by the current saga steps afterwards,
// with stock moved exactly once; a dry run changes nothing and a second run finds nothing left.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { newCloudEvent } from "../events/cloudevent.ts";
import { orderSubject, type OrderPlacedData } from "../events/order-events.ts";
import { redisKeys } from "../redis-keys.ts";
import { placedData } from "../../test/support/order-event-fixtures.ts";
import { getStack } from "../../test/support/stack.ts";
import { migrateLegacyLayout } from "./legacy-layout-migration.ts";
import { OrderStore } from "./order-store.ts";
import { SagaSteps } from "./saga-steps.ts";

let redis: Redis;
let env: string;
let store: OrderStore;
let steps: SagaSteps;

before(async () => {
  redis = new Redis((await getStack()).env.REDIS_URL!);
  env = `t${randomUUID().slice(0, 8)}`;
  store = new OrderStore(redis, { env });
  steps = new SagaSteps(redis, { env });
});
after(() => redis.disconnect());

/** An order as the former code left it: hash, history, and (when reserved) its reservation. */
async function formerOrder(
  status: string,
  items: { sku: string; quantity: number }[],
  reservation?: { status: string; detail: unknown },
): Promise<OrderPlacedData> {
  const { legacy } = redisKeys(env);
  const data = placedData({ items: items.map((i) => ({ ...i, unitPriceCents: 1 })) });
  const version = status === "ACKNOWLEDGED" ? 1 : 2;
  await redis.hset(legacy.order(data.orderId), {
    status,
    version,
    data: JSON.stringify(data),
    placedAt: data.placedAt,
    updatedAt: data.placedAt,
  });
  await redis.rpush(
    legacy.history(data.orderId),
    ...Array.from({ length: version }, (_, i) =>
      JSON.stringify({
        stage: i === 0 ? "ACKNOWLEDGED" : status,
        status: i === 0 ? "ACKNOWLEDGED" : status,
        version: i + 1,
        at: data.placedAt,
      }),
    ),
  );
  if (reservation) {
    await redis.hset(legacy.reservation(data.orderId), {
      status: reservation.status,
      detail: JSON.stringify(reservation.detail),
      at: data.placedAt,
    });
  }
  return data;
}

const event = (type: string, orderId: string, data: Record<string, unknown>) =>
  newCloudEvent({ type, source: "/test", subject: orderSubject(orderId), data: { orderId, ...data } });

describe("migrating the layout before slot groups", () => {
  test("reserved, rejected and new orders and their stock move; the saga carries on with stock moved once", async () => {
    const { legacy } = redisKeys(env);
    const [held, fresh] = [`S-${randomUUID().slice(0, 6)}`, `S-${randomUUID().slice(0, 6)}`];
    // Former stock: 2 of `held` reserved by the reserved order.
    await redis.hset(legacy.stock(held), { available: 3, reserved: 2 });
    await redis.hset(legacy.stock(fresh), { available: 5, reserved: 0 });
    const reserved = await formerOrder("INVENTORY_RESERVED", [{ sku: held, quantity: 2 }], {
      status: "reserved",
      detail: [{ sku: held, quantity: 2 }],
    });
    const rejected = await formerOrder("REJECTED", [{ sku: fresh, quantity: 9 }], {
      status: "rejected",
      detail: [{ sku: fresh, requested: 9, available: 5 }],
    });
    const acknowledged = await formerOrder("ACKNOWLEDGED", [{ sku: fresh, quantity: 2 }]);

    const dry = await migrateLegacyLayout(redis, { env, dryRun: true });
    assert.deepEqual(dry, { orders: 3, orphans: 0, stock: 2, holds: 2, skipped: [] });
    assert.equal(await store.getOrder(reserved.orderId), undefined, "a dry run moves nothing");

    assert.deepEqual(await migrateLegacyLayout(redis, { env }), dry);
    for (const key of [legacy.order(reserved.orderId), legacy.history(reserved.orderId), legacy.stock(held)])
      assert.equal(await redis.exists(key), 0, `${key} moved`);
    const moved = await store.getOrder(reserved.orderId);
    assert.equal(moved?.status, "INVENTORY_RESERVED");
    assert.equal(moved?.history.length, 2);

    // The reserved order ships: its units leave stock once, through the hold the migration wrote.
    const shipment = { shipmentId: randomUUID(), carrier: "UPS", trackingNumber: "1Z" };
    const ship = await steps.ship(reserved, {
      eventId: randomUUID(),
      shipment,
      shipped: (s) => event("order.shipped", reserved.orderId, { ...s, shippedAt: new Date().toISOString() }),
    });
    assert.equal(ship.outcome, "shipped");
    assert.deepEqual(await store.getStock(held), { sku: held, available: 3, reserved: 0 });

    // The new order reserves from the moved stock; a duplicate order.placed of the rejected one holds nothing.
    const reserve = (order: OrderPlacedData) =>
      steps.reserve(order, {
        eventId: randomUUID(),
        reserved: (lines) =>
          event("inventory.reserved", order.orderId, { items: lines, reservedAt: order.placedAt }),
        rejected: (missing) =>
          event("inventory.rejected", order.orderId, { missing, rejectedAt: order.placedAt }),
      });
    assert.equal((await reserve(acknowledged)).outcome, "reserved");
    assert.deepEqual(await reserve(rejected), { outcome: "settled", status: "REJECTED" });
    assert.deepEqual(await store.getStock(fresh), { sku: fresh, available: 3, reserved: 2 });

    assert.deepEqual(await migrateLegacyLayout(redis, { env }), {
      orders: 0,
      orphans: 0,
      stock: 0,
      holds: 0,
      skipped: [],
    });
  });
});
