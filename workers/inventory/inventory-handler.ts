// The inventory worker: order.placed reserves every line or none; order.cancelled gives the units back once.
// Each is one saga step (shared/orders/saga-steps.ts): the order, its event and the stock move together.
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import { orderSubject, type OrderEvent, type OrderEventOf } from "../../shared/events/order-events.ts";
import { PermanentError } from "../../shared/errors.ts";
import type { OrderStore } from "../../shared/orders/order-store.ts";
import type { SagaSteps } from "../../shared/orders/saga-steps.ts";
import type { EventHandler, HandlerContext } from "../sqs-runtime/sqs-worker.ts";
import { childTraceparent } from "../sqs-runtime/trace-context.ts";

const SOURCE = "/eventfleet/worker/inventory";

export interface InventoryHandlerDeps {
  store: OrderStore;
  steps: SagaSteps;
}

export function createInventoryHandler({ store, steps }: InventoryHandlerDeps): EventHandler<OrderEvent> {
  async function placed(event: OrderEventOf<"order.placed">, context: HandlerContext): Promise<void> {
    const { orderId, items, placedAt } = event.data;
    const traceparent = childTraceparent(context.traceparent);
    const result = await steps.reserve(
      { orderId, items },
      {
        eventId: event.id,
        reserved: (lines) =>
          newCloudEvent({
            type: "inventory.reserved",
            source: SOURCE,
            subject: orderSubject(orderId),
            data: { orderId, items: lines, reservedAt: new Date().toISOString() },
            traceparent,
          }),
        rejected: (missing) =>
          newCloudEvent({
            type: "inventory.rejected",
            source: SOURCE,
            subject: orderSubject(orderId),
            data: { orderId, missing, rejectedAt: new Date().toISOString() },
            traceparent,
          }),
      },
    );
    switch (result.outcome) {
      case "not_found":
        throw new PermanentError(
          "order_not_found",
          `order ${orderId} of event ${event.id} is not in the order store`,
        );
      case "reserved":
        context.observeStage("INVENTORY_RESERVED", placedAt);
        context.logger.info({ lines: result.lines.length }, "stock reserved");
        return;
      case "rejected":
        context.observeStage("REJECTED", placedAt);
        context.logger.info({ missing: result.missing }, "out of stock; order rejected");
        return;
      case "cancelled":
        context.logger.info({ release: result.release }, "order already cancelled; nothing held for it");
        return;
      case "settled":
        context.logger.info({ status: result.status }, "order already past reservation; nothing to do");
        return;
    }
  }

  async function cancelled(event: OrderEventOf<"order.cancelled">, context: HandlerContext): Promise<void> {
    const { orderId } = event.data;
    // The SKUs name the stock keys the step touches; an unknown order gets a tombstone and touches no stock.
    const order = await store.getOrder(orderId);
    // The API cancels before it announces; this covers a cancel that was published some other way. An order past
    // cancelling is left as it is, and its status comes back all the same.
    const result = await steps.cancelAndRelease(
      { orderId, items: order?.items ?? [] },
      { eventId: event.id, reason: event.data.reason ?? "cancelled" },
    );
    if (result.outcome === "not_found") {
      context.logger.warn("cancel for an unknown order; tombstone left so that nothing gets reserved");
      return;
    }
    if (result.outcome === "not_cancelled") {
      context.logger.info(
        { status: result.status },
        "order not cancelled (already shipped or rejected); stock stays as it is",
      );
      return;
    }
    if (result.release === "released" && order) context.observeStage("CANCELLED", order.placedAt);
    context.logger.info({ outcome: result.release }, "cancel handled");
  }

  return async (event, context) => {
    if (event.type === "order.placed") return placed(event, context);
    if (event.type === "order.cancelled") return cancelled(event, context);
    throw new PermanentError("unexpected_type", `inventory does not handle ${event.type}`);
  };
}
