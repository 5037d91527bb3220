// The crash points of the saga steps, as a suite that runs on any Redis target (a single Redis, a Redis Cluster): a
// worker that dies after any of a step's writes (each per-SKU script and the order-side script) leaves state that a
// redelivery completes, single- and multi-SKU; the invariants of order, stock, holds and outbox then hold.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { Cluster, type Command, type Redis } from "ioredis";
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import { orderEvent, orderSubject, type OrderEvent } from "../../shared/events/order-events.ts";
import { expandLuaSource } from "../../shared/lua-scripts.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { SagaSteps } from "../../shared/orders/saga-steps.ts";
import { Stock, type ReservationStatus } from "../../shared/orders/stock.ts";
import type { RedisClient } from "../../shared/redis-connection.ts";
import { createInventoryHandler } from "../../workers/inventory/inventory-handler.ts";
import type { EventHandler } from "../../workers/sqs-runtime/sqs-worker.ts";
import { createShipmentHandler } from "../../workers/shipment/shipment-handler.ts";
import { Shipments } from "../../workers/shipment/shipments.ts";
import { handlerContext } from "./handler-context.ts";
import { cancelledEvent, placedEvent } from "./order-event-fixtures.ts";
import { outboxEntries } from "./outbox-streams.ts";

/** Commands that change Redis in the workers' code paths (reads go through MULTI/EXEC, HMGET, HGETALL). */
const WRITES = new Set(["evalsha", "eval", "hset"]);
const SEEDED = 3;

export interface CrashSuiteTarget {
  /** A new client of the target (the suite disconnects it). */
  connect(): RedisClient;
}

type WorkerName = "inventory" | "shipment";

interface Step {
  name: string;
  worker: WorkerName;
  /** Units the order asks for, one entry per SKU (3 of each are in stock). */
  quantities: number[];
  /** The order's state before the step, made with healthy workers. */
  prepare: (orderId: string) => Promise<void>;
  event: (orderId: string, skus: string[]) => OrderEvent;
  final: "INVENTORY_RESERVED" | "REJECTED" | "SHIPPED" | "CANCELLED";
  /** The reservation after the step (a cancel at the shipment worker leaves the units to the inventory's). */
  reservation: ReservationStatus;
  /** Redis writes of the step when nothing fails: per-SKU scripts and the order-side script. */
  writes: number;
}

/** The order-side and per-SKU scripts, loaded on every master so that EVALSHA never falls back (one write each). */
function scriptSources(): string[] {
  const folder = new URL("../../shared/orders/", import.meta.url);
  return readdirSync(folder)
    .filter((file) => file.endsWith(".lua"))
    .map((file) => expandLuaSource(new URL(file, folder)));
}

async function loadScripts(redis: RedisClient): Promise<void> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes("master") : [redis];
  const sources = scriptSources();
  await Promise.all(nodes.flatMap((node) => sources.map((lua) => node.script("LOAD", lua))));
}

export function sagaCrashPointSuite(title: string, target: CrashSuiteTarget): void {
  let redis: RedisClient;
  let env: string;
  let store: OrderStore;
  let stock: Stock;
  let shipments: Shipments;
  const clients: RedisClient[] = [];
  /** order.placed of each order, by order id; its SKUs. */
  const placed = new Map<string, OrderEvent>();

  /**
   * A client of a worker that dies once it has sent `budget` writes: every later write fails as if the process
   * were gone (writes sent together, e.g. the per-SKU scripts of a step, are cut between any two of them).
   * `writes()` counts the writes that went out (Redis applies each: a crash of the worker does not recall them).
   */
  function dyingClient(budget: number): { client: RedisClient; writes: () => number } {
    const client = target.connect();
    client.on("error", () => undefined);
    clients.push(client);
    let sent = 0;
    // A command queued before the connection is up (or redirected on a cluster) passes here twice: counted once.
    const counted = new WeakSet<Command>();
    const send = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
    (client as { sendCommand: unknown }).sendCommand = (command: Command, ...rest: unknown[]) => {
      if (WRITES.has(command.name) && !counted.has(command)) {
        if (sent >= budget) {
          command.reject(new Error(`injected crash after write ${budget}`));
          return command.promise;
        }
        sent += 1;
        counted.add(command);
      }
      return send(command, ...rest);
    };
    return { client, writes: () => sent };
  }

  function handlerOn(worker: WorkerName, client: RedisClient): EventHandler<OrderEvent> {
    const deps = { store: new OrderStore(client, { env }), steps: new SagaSteps(client, { env }) };
    return worker === "inventory" ? createInventoryHandler(deps) : createShipmentHandler(deps);
  }

  const healthy = {
    inventory: () => handlerOn("inventory", redis),
    shipment: () => handlerOn("shipment", redis),
  };

  function reservedEvent(orderId: string, skus: string[], quantities: number[]) {
    return newCloudEvent({
      type: "inventory.reserved",
      source: "/test",
      subject: orderSubject(orderId),
      data: {
        orderId,
        items: skus.map((sku, i) => ({ sku, quantity: quantities[i]! })),
        reservedAt: new Date().toISOString(),
      },
    }) as OrderEvent;
  }

  const reserveFirst = async (orderId: string) => healthy.inventory()(placed.get(orderId)!, handlerContext());

  const steps: Step[] = [];
  for (const skuCount of [1, 2]) {
    const per = skuCount === 1 ? "" : `, ${skuCount} SKUs`;
    const inStock = Array.from({ length: skuCount }, () => 2);
    steps.push(
      {
        name: `reserve (order.placed, in stock${per})`,
        worker: "inventory",
        quantities: inStock,
        prepare: () => Promise.resolve(),
        event: (orderId) => placed.get(orderId)!,
        final: "INVENTORY_RESERVED",
        reservation: "reserved",
        writes: skuCount + 1,
      },
      {
        // The last SKU is short: the holds of the others are released (compensation) before REJECTED.
        name: `reject (order.placed, out of stock${per})`,
        worker: "inventory",
        quantities: [...inStock.slice(1), 5],
        prepare: () => Promise.resolve(),
        event: (orderId) => placed.get(orderId)!,
        final: "REJECTED",
        reservation: "rejected",
        writes: 2 * skuCount + 1,
      },
      {
        name: `ship (inventory.reserved${per})`,
        worker: "shipment",
        quantities: inStock,
        prepare: reserveFirst,
        event: (orderId, skus) => reservedEvent(orderId, skus, inStock),
        final: "SHIPPED",
        reservation: "shipped",
        writes: 1 + skuCount,
      },
      {
        name: `cancel-release (order.cancelled at the inventory${per})`,
        worker: "inventory",
        quantities: inStock,
        prepare: reserveFirst,
        event: (orderId) => cancelledEvent(orderId),
        final: "CANCELLED",
        reservation: "released",
        writes: 1 + skuCount,
      },
    );
  }
  steps.push({
    name: "cancel-shipment (order.cancelled at the shipment worker)",
    worker: "shipment",
    quantities: [2],
    prepare: reserveFirst,
    event: (orderId) => cancelledEvent(orderId),
    final: "CANCELLED",
    reservation: "reserved",
    writes: 1,
  });

  async function newOrder(step: Step): Promise<{ orderId: string; skus: string[] }> {
    const skus = step.quantities.map(() => `SKU-${randomUUID().slice(0, 8)}`).sort();
    for (const sku of skus) await store.setAvailable(sku, SEEDED);
    const event = placedEvent({
      items: skus.map((sku, i) => ({ sku, quantity: step.quantities[i]!, unitPriceCents: 1 })),
      totalCents: step.quantities.reduce((a, b) => a + b, 0),
    });
    await store.createOrder({ order: event.data, event });
    const orderId = event.data.orderId;
    placed.set(orderId, event);
    await step.prepare(orderId);
    return { orderId, skus };
  }

  /** Every invariant of a settled order, as a list of what is wrong (empty: consistent). */
  async function violations(step: Step, orderId: string, skus: string[]): Promise<string[]> {
    const { final } = step;
    const wrong: string[] = [];
    const expect = (ok: boolean, what: string) => {
      if (!ok) wrong.push(what);
    };
    const order = await store.getOrder(orderId);
    if (!order) return ["order missing"];
    expect(order.status === final, `status ${order.status}, expected ${final}`);
    const reservation = await stock.status(orderId);
    const shipment = await shipments.get(orderId);
    const events = (await outboxEntries(redis, store.keys))
      .map(([, fields]) => fields[fields.indexOf("event") + 1]!)
      .filter((json) => json.includes(orderId))
      .map((json) => orderEvent.safeParse(JSON.parse(json)));
    expect(
      events.every((e) => e.success),
      "an outbox event does not match its contract",
    );
    const ofType = (type: string) =>
      events.flatMap((e) => (e.success && e.data.type === type ? [e.data] : []));
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

    // Stock follows the reservation on every SKU: held units are reserved, shipped ones gone, released ones back.
    expect(reservation === step.reservation, `reservation ${reservation}, expected ${step.reservation}`);
    for (const [i, sku] of skus.entries()) {
      const quantity = step.quantities[i]!;
      const level = await stock.get(sku);
      const expected = {
        reserved: { available: SEEDED - quantity, reserved: quantity },
        shipped: { available: SEEDED - quantity, reserved: 0 },
      }[reservation as string] ?? { available: SEEDED, reserved: 0 };
      expect(
        level.available === expected.available && level.reserved === expected.reserved,
        `stock of ${sku} ${level.available}/${level.reserved} with reservation ${reservation}`,
      );
    }
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
      const short = skus.at(-1)!;
      const missing = [{ sku: short, requested: step.quantities.at(-1)!, available: SEEDED }];
      const rejected = ofType("inventory.rejected")[0];
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

  describe(title, () => {
    test("setup: a client and the scripts on every master", async () => {
      redis = target.connect();
      env = `t${randomUUID().slice(0, 8)}`;
      store = new OrderStore(redis, { env });
      stock = new Stock(redis, { env });
      shipments = new Shipments(redis, { env });
      await loadScripts(redis);
    });

    for (const step of steps) {
      test(`${step.name}: a worker dying after any of its ${step.writes} writes leaves nothing a redelivery cannot complete`, async () => {
        const writesPerRun: number[] = [];
        for (let budget = 0; ; budget++) {
          const { orderId, skus } = await newOrder(step);
          const event = step.event(orderId, skus);
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
          assert.deepEqual(
            await violations(step, orderId, skus),
            [],
            `after a crash following write ${budget}`,
          );
          if (survived) break;
          assert.ok(budget < 12, "the step never completed");
        }
        // A crash after each of the step's writes (0: nothing happened), then the step whole.
        assert.deepEqual(
          writesPerRun,
          Array.from({ length: step.writes + 1 }, (_, i) => i),
        );
      });
    }

    test("after a cancel-shipment crash, a late inventory.reserved creates no shipment", async () => {
      const step = steps.find((s) => s.name.startsWith("cancel-shipment"))!;
      const { orderId, skus } = await newOrder(step);
      await redeliver(step, step.event(orderId, skus));
      await healthy.shipment()(reservedEvent(orderId, skus, [2]), handlerContext());
      assert.equal((await shipments.get(orderId)).status, "cancelled");
      assert.equal((await shipments.get(orderId)).shipmentId, undefined);
    });

    test("a crash between the holds and the order side, then a cancel: the cancel releases every hold", async () => {
      const step = steps.find((s) => s.name === "reserve (order.placed, in stock, 2 SKUs)")!;
      const { orderId, skus } = await newOrder(step);
      const dying = dyingClient(2);
      await assert.rejects(handlerOn("inventory", dying.client)(placed.get(orderId)!, handlerContext()));
      for (const sku of skus) assert.deepEqual(await stock.get(sku), { sku, available: 1, reserved: 2 });
      await healthy.inventory()(cancelledEvent(orderId), handlerContext());
      // The order.placed redelivered after the cancel changes nothing.
      await redeliver(step, placed.get(orderId)!);
      assert.equal((await store.getOrder(orderId))?.status, "CANCELLED");
      for (const sku of skus) assert.deepEqual(await stock.get(sku), { sku, available: SEEDED, reserved: 0 });
    });

    for (const stepName of [
      "reserve (order.placed, in stock, 2 SKUs)",
      "reject (order.placed, out of stock, 2 SKUs)",
    ]) {
      test(`two copies of one order.placed handled at once (${stepName}): the order moves once, stock moves once`, async () => {
        const step = steps.find((s) => s.name === stepName)!;
        const { orderId, skus } = await newOrder(step);
        const event = placed.get(orderId)!;
        // SNS may deliver twice, to two replicas: both run the step side by side.
        await Promise.all([
          healthy.inventory()(event, handlerContext()),
          healthy.inventory()(event, handlerContext()),
        ]);
        assert.deepEqual(await violations(step, orderId, skus), []);
      });
    }

    test("teardown", () => {
      for (const client of [redis, ...clients]) client.disconnect();
    });
  });
}
