// The saga steps of the workers, each ONE Lua script touching every key it moves: order status and history,
// outbox event, stock, reservation and shipment change together, so a crash leaves no state between them.
//
//   const steps = new SagaSteps(redis, { env });
//   await steps.reserve({ orderId, items }, { eventId, reserved: (lines) => event, rejected: (missing) => event });
//   await steps.ship({ orderId, items }, { eventId, shipment, shipped: (s) => event });
//   await steps.cancelAndRelease({ orderId, items }, { eventId, reason });   // inventory's order.cancelled
//   await steps.cancelShipment(orderId, { eventId, reason });               // shipment's order.cancelled
//
// Values only the script knows (the missing lines of a rejection, the shipment an earlier attempt created) are
// filled into the events and history entries the caller builds: the caller's builder gets placeholders.
import type { RedisClient } from "../redis-connection.ts";
import { defineLuaScripts, type ScriptCommand } from "../lua-scripts.ts";
import { redisKeys, type RedisKeys } from "../redis-keys.ts";
import { historyEntryJson } from "./order-history.ts";
import { outboxEventArgs, type OutboxEvent } from "./outbox-entry.ts";
import { linesPerSku, type MissingLine, type StockLine } from "./stock.ts";

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
  readonly #keys: RedisKeys;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand<string[]>>;

  constructor(redis: RedisClient, options: { env: string }) {
    this.#keys = redisKeys(options.env);
    this.#scripts = defineLuaScripts<keyof typeof SCRIPTS, string[]>(redis, import.meta.url, SCRIPTS);
  }

  #orderKeys(orderId: string): string[] {
    return [this.#keys.order(orderId), this.#keys.history(orderId), this.#keys.outbox];
  }

  /**
   * order.placed: reserves every line and moves the order to INVENTORY_RESERVED with `reserved(lines)`, or
   * records the rejection and moves it to REJECTED with `rejected(missing)`; on a cancelled order, releases what
   * is held (STOCK_RELEASED) or leaves the tombstone.
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
    const missing = slot("missing") as unknown as MissingLine[];
    const [outcome, detail] = await this.#scripts.efSagaReserve(
      4 + lines.length,
      ...this.#orderKeys(order.orderId),
      this.#keys.reservation(order.orderId),
      ...lines.map((l) => this.#keys.stock(l.sku)),
      lines.length,
      ...lines.flatMap((l) => [l.sku, l.quantity]),
      new Date().toISOString(),
      historyEntryJson(
        { eventId: input.eventId, detail: { lines } },
        "INVENTORY_RESERVED",
        "INVENTORY_RESERVED",
      ),
      ...outboxEventArgs(input.reserved(lines)),
      historyEntryJson({ eventId: input.eventId, detail: { missing } }, "REJECTED", "REJECTED"),
      ...outboxEventArgs(input.rejected(missing)),
      historyEntryJson({ eventId: input.eventId }, "STOCK_RELEASED"),
    );
    switch (outcome) {
      case "reserved":
        return { outcome, lines: JSON.parse(detail!) as StockLine[] };
      case "rejected":
        return { outcome, missing: JSON.parse(detail!) as MissingLine[] };
      case "cancelled":
        return { outcome, release: detail as "released" | "tombstoned" | "unchanged" };
      case "settled":
        return { outcome, status: detail ?? "" };
      default:
        return { outcome: "not_found" };
    }
  }

  /**
   * inventory.reserved: the shipment (`input.shipment`, or the one an earlier attempt created) is recorded as
   * shipped, the order moves to SHIPPED with `shipped(shipment)`, and the reserved units leave stock; on a
   * cancelled order, stops the shipment. `order.items` names the stock keys to touch.
   */
  async ship(
    order: OrderLines,
    input: { eventId: string; shipment: ShipmentDetail; shipped: (shipment: ShipmentDetail) => OutboxEvent },
  ): Promise<ShipStepResult> {
    const skus = linesPerSku(order.items).map((l) => l.sku);
    const filled: ShipmentDetail = {
      shipmentId: slot("shipmentId"),
      carrier: slot("carrier"),
      trackingNumber: slot("trackingNumber"),
    };
    const [outcome, shipmentId, carrier, trackingNumber] = await this.#scripts.efSagaShip(
      5 + skus.length,
      ...this.#orderKeys(order.orderId),
      this.#keys.reservation(order.orderId),
      this.#keys.shipment(order.orderId),
      ...skus.map((sku) => this.#keys.stock(sku)),
      new Date().toISOString(),
      input.shipment.shipmentId,
      input.shipment.carrier,
      input.shipment.trackingNumber,
      historyEntryJson({ eventId: input.eventId, detail: { ...filled } }, "SHIPPED", "SHIPPED"),
      ...outboxEventArgs(input.shipped(filled)),
      ...skus,
    );
    if (outcome === "shipped" || outcome === "already_shipped") {
      return {
        outcome,
        shipment: { shipmentId: shipmentId!, carrier: carrier!, trackingNumber: trackingNumber! },
      };
    }
    return { outcome: outcome as "cancelled" | "stopped" | "not_reserved" | "rejected" | "not_found" };
  }

  /**
   * order.cancelled at the inventory: cancels the order if it still can be and gives its reserved units back
   * exactly once (STOCK_RELEASED), or leaves a tombstone when nothing was reserved yet.
   */
  async cancelAndRelease(
    order: OrderLines,
    input: { eventId: string; reason?: string | undefined },
  ): Promise<CancelReleaseResult> {
    const skus = linesPerSku(order.items).map((l) => l.sku);
    const [outcome, detail] = await this.#scripts.efSagaCancelRelease(
      4 + skus.length,
      ...this.#orderKeys(order.orderId),
      this.#keys.reservation(order.orderId),
      ...skus.map((sku) => this.#keys.stock(sku)),
      new Date().toISOString(),
      cancelledHistory(input),
      historyEntryJson({ eventId: input.eventId }, "STOCK_RELEASED"),
      ...skus,
    );
    if (outcome === "not_cancelled") return { outcome, status: detail ?? "" };
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
