// The inventory worker: order.placed reserves every line or none; order.cancelled gives the units back once.
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import { orderSubject, type OrderEvent, type OrderEventOf } from "../../shared/events/order-events.ts";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import type { OrderStore, TransitionResult } from "../../shared/orders/order-store.ts";
import type { EventHandler, HandlerContext } from "../sqs-runtime/sqs-worker.ts";
import { childTraceparent } from "../sqs-runtime/trace-context.ts";
import type { StockReservations } from "./stock-reservations.ts";

export const INVENTORY_EVENTS = ["order.placed", "order.cancelled"] as const;
const SOURCE = "/eventfleet/worker/inventory";

export interface InventoryHandlerDeps {
  store: OrderStore;
  reservations: StockReservations;
}

/**
 * The order changed between our read and our write (another event moved it): retry, and the next attempt sees
 * the new state. The reservation itself is idempotent by order id, so redoing the step is safe.
 */
function retryIfStale(result: TransitionResult): void {
  if (!result.applied && result.reason === "stale_version") {
    throw new RetryableError(
      `order changed while handling it (now version ${result.order.version}); retrying`,
    );
  }
}

export function createInventoryHandler({
  store,
  reservations,
}: InventoryHandlerDeps): EventHandler<OrderEvent> {
  async function placed(event: OrderEventOf<"order.placed">, context: HandlerContext): Promise<void> {
    const { orderId, items, placedAt } = event.data;
    const order = await store.getOrder(orderId);
    if (!order) {
      throw new PermanentError(
        "order_not_found",
        `order ${orderId} of event ${event.id} is not in the order store`,
      );
    }
    if (order.status === "CANCELLED") {
      // Cancelled before we got here: make sure nothing is (or will be) held for it.
      await reservations.release(orderId, items);
      context.logger.info("order already cancelled; nothing reserved");
      return;
    }
    if (order.status !== "ACKNOWLEDGED") {
      context.logger.info({ status: order.status }, "order already past reservation; nothing to do");
      return;
    }
    const reservation = await reservations.reserve(orderId, items);
    const traceparent = childTraceparent(context.traceparent);
    if (reservation.status === "reserved") {
      const reservedAt = new Date().toISOString();
      const result = await store.transition(orderId, {
        allowedFrom: ["ACKNOWLEDGED"],
        to: "INVENTORY_RESERVED",
        expectedVersion: order.version,
        history: { eventId: event.id, detail: { lines: reservation.lines } },
        events: [
          newCloudEvent({
            type: "inventory.reserved",
            source: SOURCE,
            subject: orderSubject(orderId),
            data: { orderId, items: reservation.lines, reservedAt },
            traceparent,
          }),
        ],
      });
      retryIfStale(result);
      if (result.applied) {
        context.observeStage("INVENTORY_RESERVED", placedAt);
        context.logger.info({ lines: reservation.lines.length }, "stock reserved");
      } else if (result.order?.status === "CANCELLED") {
        // Cancelled between our read and the reservation: the units go back (exactly once, whoever is first).
        await reservations.release(orderId, items);
        context.logger.info("order cancelled while reserving; reservation released");
      }
      return;
    }
    if (reservation.status === "rejected") {
      const result = await store.transition(orderId, {
        allowedFrom: ["ACKNOWLEDGED"],
        to: "REJECTED",
        expectedVersion: order.version,
        history: { eventId: event.id, detail: { missing: reservation.missing } },
        events: [
          newCloudEvent({
            type: "inventory.rejected",
            source: SOURCE,
            subject: orderSubject(orderId),
            data: { orderId, missing: reservation.missing, rejectedAt: new Date().toISOString() },
            traceparent,
          }),
        ],
      });
      retryIfStale(result);
      if (result.applied) context.observeStage("REJECTED", placedAt);
      context.logger.info({ missing: reservation.missing }, "out of stock; order rejected");
      return;
    }
    context.logger.info({ reservation: reservation.status }, "reservation already settled; nothing to do");
  }

  async function cancelled(event: OrderEventOf<"order.cancelled">, context: HandlerContext): Promise<void> {
    const { orderId } = event.data;
    const order = await store.getOrder(orderId);
    if (!order) {
      await reservations.release(orderId, []);
      context.logger.warn("cancel for an unknown order; tombstone left so that nothing gets reserved");
      return;
    }
    // The API cancels before it announces; this covers a cancel that was published some other way. An order past
    // cancelling is left as it is, and its status comes back all the same.
    const cancel = await store.cancel(orderId, {
      eventId: event.id,
      reason: event.data.reason ?? "cancelled",
    });
    const status = cancel.order?.status;
    if (status !== "CANCELLED") {
      context.logger.info(
        { status },
        "order not cancelled (already shipped or rejected); stock stays as it is",
      );
      return;
    }
    const outcome = await reservations.release(orderId, order.items);
    if (outcome === "released") {
      await store.appendHistory(orderId, { stage: "STOCK_RELEASED", eventId: event.id });
      context.observeStage("CANCELLED", order.placedAt);
    }
    context.logger.info({ outcome }, "cancel handled");
  }

  return async (event, context) => {
    if (event.type === "order.placed") return placed(event, context);
    if (event.type === "order.cancelled") return cancelled(event, context);
    throw new PermanentError("unexpected_type", `inventory does not handle ${event.type}`);
  };
}
