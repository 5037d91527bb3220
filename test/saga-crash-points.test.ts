// Crash points of the saga steps against a real Redis: a worker that dies after any of its Redis writes, or after
// any prefix of the former multi-call steps, leaves state that a redelivery completes; the invariants then hold.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { Redis, type Command } from "ioredis";
import { newCloudEvent } from "../shared/events/cloudevent.ts";
import { orderEvent, orderSubject, type OrderEvent } from "../shared/events/order-events.ts";
import { OrderStore } from "../shared/orders/order-store.ts";
import { SagaSteps } from "../shared/orders/saga-steps.ts";
import { Stock, type MissingLine, type ReservationStatus, type StockLine } from "../shared/orders/stock.ts";
import { redisKeys } from "../shared/redis-keys.ts";
import { createInventoryHandler } from "../workers/inventory/inventory-handler.ts";
import type { EventHandler } from "../workers/sqs-runtime/sqs-worker.ts";
import { createShipmentHandler } from "../workers/shipment/shipment-handler.ts";
import { Shipments } from "../workers/shipment/shipments.ts";
import { handlerContext } from "./support/handler-context.ts";
import { cancelledEvent, placedEvent } from "./support/order-event-fixtures.ts";
import { getStack } from "./support/stack.ts";

/** Commands that change Redis in the workers' code paths (reads go through MULTI/EXEC, HMGET, HGETALL). */
const WRITES = new Set(["evalsha", "eval", "hset"]);
const SEEDED = 3;

let url: string;
let env: string;
let redis: Redis;
let store: OrderStore;
let stock: Stock;
let shipments: Shipments;
const clients: Redis[] = [];

before(async () => {
  url = (await getStack()).env.REDIS_URL!;
  env = `t${randomUUID().slice(0, 8)}`;
  redis = new Redis(url);
  store = new OrderStore(redis, { env });
  stock = new Stock(redis, { env });
  shipments = new Shipments(redis, { env });
});
after(() => {
  for (const client of [redis, ...clients]) client.disconnect();
});

/**
 * A Redis client of a worker that dies right after its `budget`-th write was applied: every later command fails
 * as if the process were gone. `writes()` counts the writes that reached Redis.
 */
function dyingClient(budget: number): { client: Redis; writes: () => number } {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  // Its refused commands are the point; the client reports them as errors too.
  client.on("error", () => undefined);
  clients.push(client);
  let writes = 0;
  // A command queued before the connection is up passes here twice (queued, then sent): counted once.
  const counted = new WeakSet<Command>();
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, stream?: unknown) => {
    if (writes >= budget) {
      command.reject(new Error(`injected crash after write ${budget}`));
      return command.promise;
    }
    const sent = send(command, stream as never);
    // Counted when Redis answered, before the caller's continuation runs: the next command is refused.
    if (WRITES.has(command.name) && !counted.has(command)) {
      counted.add(command);
      command.promise.then(
        () => (writes += 1),
        () => undefined,
      );
    }
    return sent;
  };
  return { client, writes: () => writes };
}

type WorkerName = "inventory" | "shipment";

function handlerOn(worker: WorkerName, client: Redis): EventHandler<OrderEvent> {
  const deps = { store: new OrderStore(client, { env }), steps: new SagaSteps(client, { env }) };
  return worker === "inventory" ? createInventoryHandler(deps) : createShipmentHandler(deps);
}

/** What the former code wrote, one call at a time, for one step of one order. */
interface FormerContext {
  orderId: string;
  items: StockLine[];
  event: OrderEvent;
  missing?: MissingLine[];
}

interface Step {
  name: string;
  worker: WorkerName;
  /** Units the order asks for (3 are in stock). */
  quantity: number;
  /** The order's state before the step, made with the current code. */
  prepare: (orderId: string, sku: string) => Promise<void>;
  event: (orderId: string, sku: string) => OrderEvent;
  final: "INVENTORY_RESERVED" | "REJECTED" | "SHIPPED" | "CANCELLED";
  /** The reservation after the step (a cancel at the shipment worker leaves the units to the inventory's). */
  reservation: ReservationStatus;
  /** The former step's separate writes, in order (workers/*-handler.ts before the saga scripts). */
  former: Array<(context: FormerContext) => Promise<unknown>>;
}

const healthy = {
  inventory: () => handlerOn("inventory", redis),
  shipment: () => handlerOn("shipment", redis),
};

function reservedEvent(orderId: string, sku: string, quantity: number) {
  return newCloudEvent({
    type: "inventory.reserved",
    source: "/test",
    subject: orderSubject(orderId),
    data: { orderId, items: [{ sku, quantity }], reservedAt: new Date().toISOString() },
  }) as OrderEvent;
}

const formerShipment = {
  shipmentId: "8d3c2f0e-5b7a-4c1d-9e2f-0a1b2c3d4e5f",
  carrier: "UPS",
  trackingNumber: "1Z000000000001",
};

const steps: Step[] = [
  {
    name: "reserve (order.placed, in stock)",
    worker: "inventory",
    quantity: 2,
    prepare: () => Promise.resolve(),
    event: (orderId) => placed.get(orderId)!,
    final: "INVENTORY_RESERVED",
    reservation: "reserved",
    former: [
      ({ orderId, items }) => stock.reserve(orderId, items),
      ({ orderId, items, event }) =>
        store.transition(orderId, {
          allowedFrom: ["ACKNOWLEDGED"],
          to: "INVENTORY_RESERVED",
          history: { eventId: event.id, detail: { lines: items } },
          events: [reservedEvent(orderId, items[0]!.sku, items[0]!.quantity)],
        }),
    ],
  },
  {
    name: "reject (order.placed, out of stock)",
    worker: "inventory",
    quantity: 5,
    prepare: () => Promise.resolve(),
    event: (orderId) => placed.get(orderId)!,
    final: "REJECTED",
    reservation: "rejected",
    former: [
      async (context) => {
        const result = await stock.reserve(context.orderId, context.items);
        if (result.status === "rejected") context.missing = result.missing;
      },
      ({ orderId, event, missing }) =>
        store.transition(orderId, {
          allowedFrom: ["ACKNOWLEDGED"],
          to: "REJECTED",
          history: { eventId: event.id, detail: { missing } },
          events: [
            newCloudEvent({
              type: "inventory.rejected",
              source: "/test",
              subject: orderSubject(orderId),
              data: { orderId, missing: missing!, rejectedAt: new Date().toISOString() },
            }),
          ],
        }),
    ],
  },
  {
    name: "ship (inventory.reserved)",
    worker: "shipment",
    quantity: 2,
    prepare: async (orderId) => healthy.inventory()(placed.get(orderId)!, handlerContext()),
    event: (orderId, sku) => reservedEvent(orderId, sku, 2),
    final: "SHIPPED",
    reservation: "shipped",
    former: [
      ({ orderId }) =>
        redis.hset(redisKeys(env).shipment(orderId), {
          status: "created",
          ...formerShipment,
          createdAt: new Date().toISOString(),
        }),
      ({ orderId, event }) =>
        store.transition(orderId, {
          allowedFrom: ["INVENTORY_RESERVED"],
          to: "SHIPPED",
          history: { eventId: event.id, detail: formerShipment },
          events: [
            newCloudEvent({
              type: "order.shipped",
              source: "/test",
              subject: orderSubject(orderId),
              data: { orderId, ...formerShipment, shippedAt: new Date().toISOString() },
            }),
          ],
        }),
      ({ orderId }) =>
        redis.hset(
          redisKeys(env).shipment(orderId),
          "status",
          "shipped",
          "shippedAt",
          new Date().toISOString(),
        ),
      ({ orderId, items }) => stock.commit(orderId, items),
    ],
  },
  {
    name: "cancel-release (order.cancelled at the inventory)",
    worker: "inventory",
    quantity: 2,
    prepare: async (orderId) => healthy.inventory()(placed.get(orderId)!, handlerContext()),
    event: (orderId) => cancelledEvent(orderId),
    final: "CANCELLED",
    reservation: "released",
    former: [
      ({ orderId, event }) => store.cancel(orderId, { eventId: event.id, reason: "changed my mind" }),
      ({ orderId, items }) => stock.release(orderId, items),
      ({ orderId, event }) => store.appendHistory(orderId, { stage: "STOCK_RELEASED", eventId: event.id }),
    ],
  },
  {
    name: "cancel-shipment (order.cancelled at the shipment worker)",
    worker: "shipment",
    quantity: 2,
    prepare: async (orderId) => healthy.inventory()(placed.get(orderId)!, handlerContext()),
    event: (orderId) => cancelledEvent(orderId),
    final: "CANCELLED",
    reservation: "reserved",
    former: [
      ({ orderId, event }) => store.cancel(orderId, { eventId: event.id, reason: "changed my mind" }),
      ({ orderId }) =>
        redis.hset(
          redisKeys(env).shipment(orderId),
          "status",
          "cancelled",
          "cancelledAt",
          new Date().toISOString(),
        ),
    ],
  },
];

/** order.placed of each order, by order id. */
const placed = new Map<string, OrderEvent>();

async function newOrder(step: Step): Promise<{ orderId: string; sku: string; items: StockLine[] }> {
  const sku = `SKU-${randomUUID().slice(0, 8)}`;
  await store.setAvailable(sku, SEEDED);
  const event = placedEvent({
    items: [{ sku, quantity: step.quantity, unitPriceCents: 1 }],
    totalCents: step.quantity,
  });
  await store.createOrder({ order: event.data, event });
  const orderId = event.data.orderId;
  placed.set(orderId, event);
  await step.prepare(orderId, sku);
  return { orderId, sku, items: [{ sku, quantity: step.quantity }] };
}

/** Every invariant of a settled order, as a list of what is wrong (empty: consistent). */
async function violations(step: Step, orderId: string, sku: string): Promise<string[]> {
  const { final, quantity } = step;
  const wrong: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) wrong.push(what);
  };
  const order = await store.getOrder(orderId);
  if (!order) return ["order missing"];
  expect(order.status === final, `status ${order.status}, expected ${final}`);
  const level = await stock.get(sku);
  const reservation = await stock.status(orderId);
  const shipment = await shipments.get(orderId);
  const events = (await redis.xrange(redisKeys(env).outbox, "-", "+"))
    .map(([, fields]) => fields[fields.indexOf("event") + 1]!)
    .filter((json) => json.includes(orderId))
    .map((json) => orderEvent.safeParse(JSON.parse(json)));
  expect(
    events.every((e) => e.success),
    "an outbox event does not match its contract",
  );
  const ofType = (type: string) => events.flatMap((e) => (e.success && e.data.type === type ? [e.data] : []));
  const count = (stage: string) => order.history.filter((h) => h.stage === stage).length;

  // History: one entry per status reached, at versions 1, 2, 3... ending at the order's version.
  const statusVersions = order.history.filter((h) => h.status).map((h) => h.version);
  expect(
    statusVersions.every((v, i) => v === i + 1) && statusVersions.at(-1) === order.version,
    `status entries at versions ${statusVersions.join(",")}, order at ${order.version}`,
  );
  expect(count(final) === 1, `${count(final)} ${final} entries`);
  for (const type of ["order.placed", "inventory.reserved", "inventory.rejected", "order.shipped"]) {
    expect(ofType(type).length <= 1, `${ofType(type).length} ${type} events`);
  }

  // Stock follows the reservation: held units are reserved, shipped ones gone, released ones back.
  expect(reservation === step.reservation, `reservation ${reservation}, expected ${step.reservation}`);
  const expected = {
    reserved: { available: SEEDED - quantity, reserved: quantity },
    shipped: { available: SEEDED - quantity, reserved: 0 },
  }[reservation as string] ?? { available: SEEDED, reserved: 0 };
  expect(
    level.available === expected.available && level.reserved === expected.reserved,
    `stock ${level.available}/${level.reserved} with reservation ${reservation}`,
  );
  expect(
    count("STOCK_RELEASED") === (reservation === "released" ? 1 : 0),
    `${count("STOCK_RELEASED")} STOCK_RELEASED entries with reservation ${reservation}`,
  );

  // Events announce what the order became, stamped with the version of that change.
  const reservedVersion = ofType("inventory.reserved")[0]?.orderversion;
  expect(
    final === "REJECTED" ? reservedVersion === undefined : reservedVersion === 2,
    "one inventory.reserved at version 2 (unless rejected)",
  );
  if (final === "REJECTED") {
    const rejected = ofType("inventory.rejected")[0];
    const missing = [{ sku, requested: quantity, available: SEEDED }];
    expect(rejected?.orderversion === 2, "one inventory.rejected at version 2");
    expect(
      rejected?.type === "inventory.rejected" && isDeepStrictEqual(rejected.data.missing, missing),
      `inventory.rejected lists ${JSON.stringify(rejected?.data)}`,
    );
    expect(
      isDeepStrictEqual(order.history.find((h) => h.stage === "REJECTED")?.detail?.missing, missing),
      "the REJECTED entry lists the missing line",
    );
  }

  // One shipment, shipped only with the order, named alike by the order's event, history and shipment hash.
  if (final === "SHIPPED") {
    expect(shipment.status === "shipped" && Boolean(shipment.shipmentId), `shipment ${shipment.status}`);
    const same = (d: Record<string, unknown> | undefined) =>
      d?.shipmentId === shipment.shipmentId &&
      d?.carrier === shipment.carrier &&
      d?.trackingNumber === shipment.trackingNumber;
    const shipped = ofType("order.shipped")[0];
    expect(shipped?.orderversion === 3, "one order.shipped at version 3");
    expect(same(shipped?.data), "order.shipped names the recorded shipment");
    expect(
      same(order.history.find((h) => h.stage === "SHIPPED")?.detail),
      "the SHIPPED entry names the shipment",
    );
  } else {
    expect(shipment.status !== "created" && shipment.status !== "shipped", `shipment ${shipment.status}`);
    expect(ofType("order.shipped").length === 0, "no order.shipped");
  }
  return wrong;
}

/** The redelivery after a crash: a fresh worker handles the event, and SQS may deliver it once more. */
async function redeliver(step: Step, event: OrderEvent): Promise<void> {
  await healthy[step.worker]()(event, handlerContext());
  await healthy[step.worker]()(event, handlerContext());
}

describe("saga steps under crashes", () => {
  for (const step of steps) {
    test(`${step.name}: a worker dying after any of its writes leaves nothing a redelivery cannot complete, and the step is one write`, async () => {
      const writesPerRun: number[] = [];
      for (let budget = 0; ; budget++) {
        const { orderId, sku } = await newOrder(step);
        const event = step.event(orderId, sku);
        const dying = dyingClient(budget);
        const survived = await handlerOn(step.worker, dying.client)(event, handlerContext()).then(
          () => true,
          (error: Error) => {
            assert.match(error.message, /injected crash/);
            return false;
          },
        );
        writesPerRun.push(dying.writes());
        await redeliver(step, event);
        assert.deepEqual(await violations(step, orderId, sku), [], `after a crash following write ${budget}`);
        if (survived) break;
        assert.ok(budget < 10, "the step never completed");
      }
      // The crash points were 0 writes (nothing happened) and after the step's one script.
      assert.deepEqual(writesPerRun, [0, 1]);
    });

    test(`${step.name}: after any prefix of the former ${step.former.length} separate writes, a redelivery completes the step`, async () => {
      for (let k = 1; k < step.former.length; k++) {
        const { orderId, sku, items } = await newOrder(step);
        const event = step.event(orderId, sku);
        const context: FormerContext = { orderId, items, event };
        for (const write of step.former.slice(0, k)) await write(context);
        await redeliver(step, event);
        assert.deepEqual(await violations(step, orderId, sku), [], `after the former writes 1..${k}`);
      }
    });
  }

  test("after a cancel-shipment crash, a late inventory.reserved creates no shipment", async () => {
    const step = steps.find((s) => s.name.startsWith("cancel-shipment"))!;
    const { orderId, sku } = await newOrder(step);
    await redeliver(step, step.event(orderId, sku));
    await healthy.shipment()(reservedEvent(orderId, sku, 2), handlerContext());
    assert.equal((await shipments.get(orderId)).status, "cancelled");
    assert.equal((await shipments.get(orderId)).shipmentId, undefined);
  });
});
