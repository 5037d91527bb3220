// Stock reservations (Lua) and the inventory handler against a real Redis: all-or-nothing, once per order, any order.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { handlerContext } from "../../test/support/handler-context.ts";
import { cancelledEvent, placedEvent } from "../../test/support/order-event-fixtures.ts";
import { getStack } from "../../test/support/stack.ts";
import { createInventoryHandler } from "./inventory-handler.ts";
import { SagaSteps } from "../../shared/orders/saga-steps.ts";
import { Stock } from "../../shared/orders/stock.ts";

let redis: Redis;
let store: OrderStore;
let reservations: Stock;
let steps: SagaSteps;

before(async () => {
  const { env } = await getStack();
  redis = new Redis(env.REDIS_URL!);
  const name = `t${randomUUID().slice(0, 8)}`;
  store = new OrderStore(redis, { env: name });
  reservations = new Stock(redis, { env: name });
  steps = new SagaSteps(redis, { env: name });
});

after(() => redis.disconnect());

const sku = () => `SKU-${randomUUID().slice(0, 8)}`;

describe("StockReservations", () => {
  test("reserves every line or none: one short line leaves all stock untouched", async () => {
    const [a, b] = [sku(), sku()];
    await store.setAvailable(a, 5);
    await store.setAvailable(b, 1);
    const result = await reservations.reserve(randomUUID(), [
      { sku: a, quantity: 2 },
      { sku: b, quantity: 2 },
    ]);
    assert.deepEqual(result, { status: "rejected", missing: [{ sku: b, requested: 2, available: 1 }] });
    assert.deepEqual(await store.getStock(a), { sku: a, available: 5, reserved: 0 });
    assert.deepEqual(await store.getStock(b), { sku: b, available: 1, reserved: 0 });
  });

  test("a reservation is idempotent by order id and sums lines of the same SKU", async () => {
    const a = sku();
    await store.setAvailable(a, 10);
    const orderId = randomUUID();
    const lines = [
      { sku: a, quantity: 2 },
      { sku: a, quantity: 3 },
    ];
    assert.deepEqual(await reservations.reserve(orderId, lines), {
      status: "reserved",
      lines: [{ sku: a, quantity: 5 }],
    });
    assert.equal((await reservations.reserve(orderId, lines)).status, "reserved");
    assert.deepEqual(await store.getStock(a), { sku: a, available: 5, reserved: 5 });
  });

  test("release gives units back exactly once; commit after shipping takes them out once", async () => {
    const a = sku();
    await store.setAvailable(a, 4);
    const cancelled = randomUUID();
    await reservations.reserve(cancelled, [{ sku: a, quantity: 3 }]);
    assert.equal(await reservations.release(cancelled, [{ sku: a, quantity: 3 }]), "released");
    assert.equal(await reservations.release(cancelled, [{ sku: a, quantity: 3 }]), "unchanged");
    assert.deepEqual(await store.getStock(a), { sku: a, available: 4, reserved: 0 });
    const shipped = randomUUID();
    await reservations.reserve(shipped, [{ sku: a, quantity: 1 }]);
    assert.equal(await reservations.commit(shipped, [{ sku: a, quantity: 1 }]), "committed");
    assert.equal(await reservations.commit(shipped, [{ sku: a, quantity: 1 }]), "unchanged");
    assert.equal(await reservations.release(shipped, [{ sku: a, quantity: 1 }]), "unchanged");
    assert.deepEqual(await store.getStock(a), { sku: a, available: 3, reserved: 0 });
  });

  test("a cancel that arrives before the reservation leaves a tombstone: nothing is reserved later", async () => {
    const a = sku();
    await store.setAvailable(a, 2);
    const orderId = randomUUID();
    assert.equal(await reservations.release(orderId, [{ sku: a, quantity: 1 }]), "tombstoned");
    assert.deepEqual(await reservations.reserve(orderId, [{ sku: a, quantity: 1 }]), { status: "cancelled" });
    assert.deepEqual(await store.getStock(a), { sku: a, available: 2, reserved: 0 });
  });

  test("concurrent orders never oversell: 25 orders for 10 units reserve exactly 10", async () => {
    const a = sku();
    await store.setAvailable(a, 10);
    const results = await Promise.all(
      Array.from({ length: 25 }, () => reservations.reserve(randomUUID(), [{ sku: a, quantity: 1 }])),
    );
    assert.equal(results.filter((r) => r.status === "reserved").length, 10);
    assert.deepEqual(await store.getStock(a), { sku: a, available: 0, reserved: 10 });
  });
});

describe("inventory handler", () => {
  const handle = () => createInventoryHandler({ store, steps });

  async function created(quantity: number, stock: number) {
    const a = sku();
    await store.setAvailable(a, stock);
    const event = placedEvent({ items: [{ sku: a, quantity, unitPriceCents: 1 }], totalCents: quantity });
    await store.createOrder({ order: event.data, event });
    return { event, sku: a, orderId: event.data.orderId };
  }

  const outboxTypes = async (orderId: string) =>
    (await redis.xrange(store.keys.outbox, "-", "+"))
      .map(([, fields]) => fields)
      .filter((f) => f.join(" ").includes(orderId))
      .map((f) => f[f.indexOf("type") + 1]);

  test("order.placed reserves, moves the order to INVENTORY_RESERVED and writes inventory.reserved in one step", async () => {
    const { event, sku: a, orderId } = await created(2, 3);
    const stages: string[] = [];
    await handle()(event, handlerContext(stages));
    const order = await store.getOrder(orderId);
    assert.equal(order?.status, "INVENTORY_RESERVED");
    assert.equal(order?.version, 2);
    assert.deepEqual(stages, ["INVENTORY_RESERVED"]);
    assert.deepEqual(await outboxTypes(orderId), ["order.placed", "inventory.reserved"]);
    // Handled again (a crash before the processed marker): no second reservation, no second event.
    await handle()(event, handlerContext());
    assert.deepEqual(await store.getStock(a), { sku: a, available: 1, reserved: 2 });
    assert.deepEqual(await outboxTypes(orderId), ["order.placed", "inventory.reserved"]);
  });

  test("out of stock: REJECTED with inventory.rejected listing the missing SKU", async () => {
    const { event, orderId } = await created(5, 1);
    await handle()(event, handlerContext());
    assert.equal((await store.getOrder(orderId))?.status, "REJECTED");
    assert.deepEqual(await outboxTypes(orderId), ["order.placed", "inventory.rejected"]);
  });

  test("cancel then placed (events out of order): CANCELLED, and no stock is held", async () => {
    const { event, sku: a, orderId } = await created(1, 1);
    await handle()(cancelledEvent(orderId), handlerContext());
    await handle()(event, handlerContext());
    assert.equal((await store.getOrder(orderId))?.status, "CANCELLED");
    assert.deepEqual(await store.getStock(a), { sku: a, available: 1, reserved: 0 });
  });

  test("a late order.placed cannot move a cancelled order backwards, and a second cancel releases nothing more", async () => {
    const { event, sku: a, orderId } = await created(2, 2);
    await handle()(event, handlerContext());
    const cancel = cancelledEvent(orderId);
    await handle()(cancel, handlerContext());
    await handle()(cancel, handlerContext());
    await handle()(event, handlerContext());
    assert.equal((await store.getOrder(orderId))?.status, "CANCELLED");
    assert.deepEqual(await store.getStock(a), { sku: a, available: 2, reserved: 0 });
  });

  test("a cancel racing the reservation: the write is refused and the units go back at once", async () => {
    const { event, sku: a, orderId } = await created(2, 2);
    let raced = false;
    // The API cancels the order just before the handler's step runs.
    const racing = new Proxy(steps, {
      get(target, property, receiver) {
        if (property !== "reserve") {
          const value = Reflect.get(target, property, receiver) as unknown;
          // Methods use private fields: call them on the real steps.
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return async (...args: Parameters<SagaSteps["reserve"]>) => {
          if (!raced) {
            raced = true;
            await store.transition(orderId, { allowedFrom: ["ACKNOWLEDGED"], to: "CANCELLED" });
          }
          return target.reserve(...args);
        };
      },
    });
    const racingHandler = createInventoryHandler({ store, steps: racing });
    await racingHandler(event, handlerContext());
    assert.equal(raced, true);
    assert.equal((await store.getOrder(orderId))?.status, "CANCELLED");
    assert.deepEqual(await store.getStock(a), { sku: a, available: 2, reserved: 0 });
  });
});
