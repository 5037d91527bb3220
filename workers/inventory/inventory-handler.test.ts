// Stock holds (Lua, per SKU), multi-SKU reservations and the inventory handler against a real Redis: all-or-nothing, once per order, any order.
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
import { Stock, StockHolds } from "../../shared/orders/stock.ts";
import { redisKeys } from "../../shared/redis-keys.ts";
import { outboxEntries } from "../../test/support/outbox-streams.ts";

let redis: Redis;
let store: OrderStore;
let reservations: Stock;
let steps: SagaSteps;
let holds: StockHolds;

before(async () => {
  const { env } = await getStack();
  redis = new Redis(env.REDIS_URL!);
  const name = `t${randomUUID().slice(0, 8)}`;
  store = new OrderStore(redis, { env: name });
  reservations = new Stock(redis, { env: name });
  holds = new StockHolds(redis, redisKeys(name));
  steps = new SagaSteps(redis, { env: name });
});

after(() => redis.disconnect());

const sku = () => `SKU-${randomUUID().slice(0, 8)}`;

describe("stock holds (one script per SKU, in the SKU's slot)", () => {
  const now = () => new Date().toISOString();
  const rejectedEvent = () => cancelledEvent(randomUUID());

  async function order(lines: { sku: string; quantity: number }[]) {
    const event = placedEvent({
      items: lines.map((l) => ({ ...l, unitPriceCents: 1 })),
      totalCents: lines.reduce((n, l) => n + l.quantity, 0),
    });
    await store.createOrder({ order: event.data, event });
    return event.data.orderId;
  }

  test("all or nothing over several SKUs: one short line releases the other holds and the order is REJECTED", async () => {
    const [a, b] = [sku(), sku()].sort();
    await store.setAvailable(a!, 5);
    await store.setAvailable(b!, 1);
    const orderId = await order([
      { sku: a!, quantity: 2 },
      { sku: b!, quantity: 2 },
    ]);
    const result = await steps.reserve(
      {
        orderId,
        items: [
          { sku: a!, quantity: 2 },
          { sku: b!, quantity: 2 },
        ],
      },
      { eventId: randomUUID(), reserved: rejectedEvent, rejected: rejectedEvent },
    );
    assert.deepEqual(result, { outcome: "rejected", missing: [{ sku: b, requested: 2, available: 1 }] });
    assert.deepEqual(await store.getStock(a!), { sku: a, available: 5, reserved: 0 });
    assert.deepEqual(await store.getStock(b!), { sku: b, available: 1, reserved: 0 });
    assert.equal(await reservations.status(orderId), "rejected");
  });

  test("a hold is idempotent by order id and sums lines of the same SKU", async () => {
    const a = sku();
    await store.setAvailable(a, 10);
    const lines = [
      { sku: a, quantity: 2 },
      { sku: a, quantity: 3 },
    ];
    const orderId = await order(lines);
    const input = { eventId: randomUUID(), reserved: rejectedEvent, rejected: rejectedEvent };
    assert.deepEqual(await steps.reserve({ orderId, items: lines }, input), {
      outcome: "reserved",
      lines: [{ sku: a, quantity: 5 }],
    });
    assert.deepEqual(await steps.reserve({ orderId, items: lines }, input), {
      outcome: "settled",
      status: "INVENTORY_RESERVED",
    });
    assert.deepEqual(await store.getStock(a), { sku: a, available: 5, reserved: 5 });
  });

  test("release gives units back exactly once; commit after shipping takes them out once", async () => {
    const a = sku();
    await store.setAvailable(a, 4);
    const cancelled = randomUUID();
    assert.deepEqual(await holds.hold(cancelled, { sku: a, quantity: 3 }, now()), { status: "held" });
    await holds.releaseAll(cancelled, [{ sku: a, quantity: 3 }], now());
    await holds.releaseAll(cancelled, [{ sku: a, quantity: 3 }], now());
    assert.deepEqual(await store.getStock(a), { sku: a, available: 4, reserved: 0 });
    const shipped = randomUUID();
    await holds.hold(shipped, { sku: a, quantity: 1 }, now());
    await holds.commitAll(shipped, [{ sku: a, quantity: 1 }], now());
    await holds.commitAll(shipped, [{ sku: a, quantity: 1 }], now());
    await holds.releaseAll(shipped, [{ sku: a, quantity: 1 }], now());
    assert.deepEqual(await store.getStock(a), { sku: a, available: 3, reserved: 0 });
  });

  test("a release that arrives before the hold leaves a tombstone: nothing is held later", async () => {
    const a = sku();
    await store.setAvailable(a, 2);
    const orderId = randomUUID();
    await holds.releaseAll(orderId, [{ sku: a, quantity: 1 }], now());
    assert.deepEqual(await holds.hold(orderId, { sku: a, quantity: 1 }, now()), { status: "released" });
    assert.deepEqual(await store.getStock(a), { sku: a, available: 2, reserved: 0 });
  });

  test("the first decision sticks: a SKU found short stays short for that order after a refill", async () => {
    const a = sku();
    await store.setAvailable(a, 1);
    const orderId = randomUUID();
    assert.deepEqual(await holds.hold(orderId, { sku: a, quantity: 2 }, now()), {
      status: "short",
      available: 1,
    });
    await store.setAvailable(a, 10);
    assert.deepEqual(await holds.hold(orderId, { sku: a, quantity: 2 }, now()), {
      status: "short",
      available: 1,
    });
    assert.deepEqual(await store.getStock(a), { sku: a, available: 10, reserved: 0 });
  });

  test("concurrent orders never oversell: 25 orders for 10 units hold exactly 10", async () => {
    const a = sku();
    await store.setAvailable(a, 10);
    const results = await Promise.all(
      Array.from({ length: 25 }, () => holds.hold(randomUUID(), { sku: a, quantity: 1 }, now())),
    );
    assert.equal(results.filter((r) => r.status === "held").length, 10);
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
    (await outboxEntries(redis, store.keys))
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
