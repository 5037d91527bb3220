// The saga steps of the workers. Each step is one order-side Lua script (order status and history, outbox event,
// reservation, shipment change together, in the order's slot) plus, where stock moves, one script per SKU in the
// SKU's slot: a Redis Cluster cannot move several slots in one script. Every script is idempotent by order id and
// the order side re-checks the order, so a crash or a redelivery between any two of them converges.
//
//   const steps = new SagaSteps(redis, { env });
//   await steps.reserve({ orderId, items }, { eventId, reserved: (lines) => event, rejected: (missing) => event });
//   await steps.ship({ orderId, items }, { eventId, shipment, shipped: (s) => event });
//   await steps.cancelAndRelease({ orderId, items }, { eventId, reason });   // inventory's order.cancelled
//   await steps.cancelShipment(orderId, { eventId, reason });               // shipment's order.cancelled
//
// reserve: 1. each SKU's hold (sku-hold.lua: held, or short, decided once per order and SKU); 2. all held: the order
// side applies `reserved`; one short: every hold is released first (compensation), then the order side applies
// `rejected`; 3. the order was cancelled meanwhile: every hold is released. ship: the order side, then each SKU's
// commit. cancelAndRelease: the order side, then each SKU's release.
//
// Values only the script knows (the missing lines of a rejection, the shipment an earlier attempt created) are
// filled into the events and history entries the caller builds: the caller's builder gets placeholders.
import { defineLuaScripts, type ScriptCommand } from "../lua-scripts.ts";
import { slotGroupsOf, type RedisClient } from "../redis-connection.ts";
import { redisKeys, type RedisKeys } from "../redis-keys.ts";
import { historyEntryJson } from "./order-history.ts";
import { outboxEventArgs, type OutboxEvent } from "./outbox-entry.ts";
import { linesPerSku, StockHolds, type MissingLine, type StockLine } from "./stock.ts";

const SCRIPTS = {
  efSagaReserve: "saga-reserve.lua",
  efSagaShip: "saga-ship.lua",
  efSagaCancelRelease: "saga-cancel-release.lua",
  efSagaCancelShipment: "saga-cancel-shipment.lua",
} as const;

/** The JSON string a script replaces with the value it decided (lua/fill.lua). */
const slot = (name: string) => `\u0000fill:${name}`;

export interface ShipmentDetail {
  shipmentId: string;
  carrier: string;
  trackingNumber: string;
}

export type ReserveStepResult =
  | { outcome: "reserved"; lines: StockLine[] }
  | { outcome: "rejected"; missing: MissingLine[] }
  /** The order was cancelled: its units were released now, or a tombstone blocks any reservation. */
  | { outcome: "cancelled"; release: "released" | "tombstoned" | "unchanged" }
  /** The order is past reservation (or its reservation was settled): nothing to do. */
  | { outcome: "settled"; status: string }
  | { outcome: "not_found" };

export type ShipStepResult =
  | { outcome: "shipped" | "already_shipped"; shipment: ShipmentDetail }
  /** cancelled: the order was cancelled, its shipment is stopped; stopped: a cancel's tombstone blocks it. */
  | { outcome: "cancelled" | "stopped" | "not_reserved" | "rejected" | "not_found" };

export type CancelReleaseResult =
  | { outcome: "cancelled" | "not_found"; release: "released" | "tombstoned" | "unchanged" }
  | { outcome: "not_cancelled"; status: string };

export type CancelShipmentResult =
  /** `before`: the shipment's status before ("" when there was none: a tombstone now blocks one). */
  { outcome: "stopped"; before: string } | { outcome: "shipped" };

interface OrderLines {
  orderId: string;
  items: readonly StockLine[];
}

export class SagaSteps {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #holds: StockHolds;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand<string[]>>;

  constructor(redis: RedisClient, options: { env: string; slotGroups?: number }) {
    this.#redis = redis;
    this.#keys = redisKeys(options.env, { slotGroups: options.slotGroups ?? slotGroupsOf(redis) });
    this.#holds = new StockHolds(redis, this.#keys);
    this.#scripts = defineLuaScripts<keyof typeof SCRIPTS, string[]>(redis, import.meta.url, SCRIPTS);
  }

  /** The order-side keys every step starts with: order hash, history, the outbox stream of its slot group. */
  #orderKeys(orderId: string): string[] {
    return [this.#keys.order(orderId), this.#keys.history(orderId), this.#keys.outboxOf(orderId)];
  }

  /**
   * order.placed: holds every line (per SKU) and moves the order to INVENTORY_RESERVED with `reserved(lines)`, or
   * releases what it held and moves it to REJECTED with `rejected(missing)`; on a cancelled order, releases what is
   * held (STOCK_RELEASED when the order had been reserved) or leaves the tombstone.
   */
  async reserve(
    order: OrderLines,
    input: {
      eventId: string;
      reserved: (lines: StockLine[]) => OutboxEvent;
      rejected: (missing: MissingLine[]) => OutboxEvent;
    },
  ): Promise<ReserveStepResult> {
    const lines = linesPerSku(order.items);
    const { orderId } = order;
    const now = new Date().toISOString();
    // An order past ACKNOWLEDGED (a duplicate delivery) takes no holds: the order side answers at once.
    const acknowledged = (await this.#redis.hget(this.#keys.order(orderId), "status")) === "ACKNOWLEDGED";
    const decisions = acknowledged
      ? await Promise.all(lines.map((line) => this.#holds.hold(orderId, line, now)))
      : [];
    const missing: MissingLine[] = [];
    decisions.forEach((decision, i) => {
      const line = lines[i]!;
      // `released`: an earlier attempt's compensation (or a cancel) gave it back; the short SKU that caused it
      // is listed by its own sticky decision.
      if (decision.status === "short")
        missing.push({ sku: line.sku, requested: line.quantity, available: decision.available });
    });
    const allHeld = decisions.every((d) => d.status === "held" || d.status === "committed");
    // Compensation before the rejection is recorded: a crash in between leaves the order ACKNOWLEDGED, and the
    // redelivery finds the same decisions and completes it.
    if (acknowledged && !allHeld) await this.#holds.releaseAll(orderId, lines, now);
    const fill = slot("missing") as unknown as MissingLine[];
    const [outcome, detail] = await this.#scripts.efSagaReserve(
      4,
      ...this.#orderKeys(orderId),
      this.#keys.reservation(orderId),
      allHeld ? "reserved" : "rejected",
      JSON.stringify(allHeld ? lines : missing),
      now,
      historyEntryJson(
        { eventId: input.eventId, detail: { lines } },
        "INVENTORY_RESERVED",
        "INVENTORY_RESERVED",
      ),
      ...outboxEventArgs(input.reserved(lines)),
      historyEntryJson({ eventId: input.eventId, detail: { missing: fill } }, "REJECTED", "REJECTED"),
      ...outboxEventArgs(input.rejected(fill)),
      historyEntryJson({ eventId: input.eventId }, "STOCK_RELEASED"),
    );
    switch (outcome) {
      case "reserved":
        return { outcome, lines: JSON.parse(detail!) as StockLine[] };
      case "rejected":
        return { outcome, missing: JSON.parse(detail!) as MissingLine[] };
      case "cancelled":
        // Cancelled while (or before) the holds were taken: none of them may stay.
        await this.#holds.releaseAll(orderId, lines, now);
        return { outcome, release: detail as "released" | "tombstoned" | "unchanged" };
      case "settled":
        return { outcome, status: detail ?? "" };
      default:
        return { outcome: "not_found" };
    }
  }

  /**
   * inventory.reserved: the shipment (`input.shipment`, or the one an earlier attempt created) is recorded as
   * shipped, the order moves to SHIPPED with `shipped(shipment)`, then the held units leave stock (per SKU); on a
   * cancelled order, stops the shipment. `order.items` names the SKUs.
   */
  async ship(
    order: OrderLines,
    input: { eventId: string; shipment: ShipmentDetail; shipped: (shipment: ShipmentDetail) => OutboxEvent },
  ): Promise<ShipStepResult> {
    const filled: ShipmentDetail = {
      shipmentId: slot("shipmentId"),
      carrier: slot("carrier"),
      trackingNumber: slot("trackingNumber"),
    };
    const now = new Date().toISOString();
    const [outcome, shipmentId, carrier, trackingNumber] = await this.#scripts.efSagaShip(
      5,
      ...this.#orderKeys(order.orderId),
      this.#keys.reservation(order.orderId),
      this.#keys.shipment(order.orderId),
      now,
      input.shipment.shipmentId,
      input.shipment.carrier,
      input.shipment.trackingNumber,
      historyEntryJson({ eventId: input.eventId, detail: { ...filled } }, "SHIPPED", "SHIPPED"),
      ...outboxEventArgs(input.shipped(filled)),
    );
    if (outcome === "shipped" || outcome === "already_shipped") {
      await this.#holds.commitAll(order.orderId, linesPerSku(order.items), now);
      return {
        outcome,
        shipment: { shipmentId: shipmentId!, carrier: carrier!, trackingNumber: trackingNumber! },
      };
    }
    return { outcome: outcome as "cancelled" | "stopped" | "not_reserved" | "rejected" | "not_found" };
  }

  /**
   * order.cancelled at the inventory: cancels the order if it still can be, marks its reservation released
   * (STOCK_RELEASED) or leaves a tombstone when nothing was reserved yet, then gives every SKU's held units back.
   */
  async cancelAndRelease(
    order: OrderLines,
    input: { eventId: string; reason?: string | undefined },
  ): Promise<CancelReleaseResult> {
    const now = new Date().toISOString();
    const [outcome, detail] = await this.#scripts.efSagaCancelRelease(
      4,
      ...this.#orderKeys(order.orderId),
      this.#keys.reservation(order.orderId),
      now,
      cancelledHistory(input),
      historyEntryJson({ eventId: input.eventId }, "STOCK_RELEASED"),
    );
    if (outcome === "not_cancelled") return { outcome, status: detail ?? "" };
    await this.#holds.releaseAll(order.orderId, linesPerSku(order.items), now);
    return {
      outcome: outcome as "cancelled" | "not_found",
      release: detail as "released" | "tombstoned" | "unchanged",
    };
  }

  /**
   * order.cancelled at the shipment worker: cancels the order if it still can be and stops its shipment unless it
   * shipped (SHIPMENT_STOPPED), or leaves a tombstone so that none is created.
   */
  async cancelShipment(
    orderId: string,
    input: { eventId: string; reason?: string | undefined },
  ): Promise<CancelShipmentResult> {
    const [outcome, before] = await this.#scripts.efSagaCancelShipment(
      4,
      ...this.#orderKeys(orderId),
      this.#keys.shipment(orderId),
      new Date().toISOString(),
      cancelledHistory(input),
      historyEntryJson({ eventId: input.eventId }, "SHIPMENT_STOPPED"),
    );
    return outcome === "shipped" ? { outcome } : { outcome: "stopped", before: before ?? "" };
  }
}

/** The history entry of a cancel, as OrderStore.cancel() writes it. */
function cancelledHistory(input: { eventId: string; reason?: string | undefined }): string {
  return historyEntryJson(
    { eventId: input.eventId, ...(input.reason ? { detail: { reason: input.reason } } : {}) },
    "CANCELLED",
    "CANCELLED",
  );
}
