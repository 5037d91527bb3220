// The shipment worker: inventory.reserved ships the order once (carrier, tracking number); a cancel first stops it.
// Each is one saga step (shared/orders/saga-steps.ts): the order, its event, shipment and stock move together.
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import { orderSubject, type OrderEvent, type OrderEventOf } from "../../shared/events/order-events.ts";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import type { OrderStore } from "../../shared/orders/order-store.ts";
import type { SagaSteps } from "../../shared/orders/saga-steps.ts";
import type { EventHandler, HandlerContext } from "../sqs-runtime/sqs-worker.ts";
import { childTraceparent } from "../sqs-runtime/trace-context.ts";
import { newShipment } from "./shipments.ts";

const SOURCE = "/eventfleet/worker/shipment";

export interface ShipmentHandlerDeps {
  store: OrderStore;
  steps: SagaSteps;
}

export function createShipmentHandler({ store, steps }: ShipmentHandlerDeps): EventHandler<OrderEvent> {
  async function reserved(event: OrderEventOf<"inventory.reserved">, context: HandlerContext): Promise<void> {
    const { orderId } = event.data;
    // Read for the destination, the SKUs whose stock the step commits and the placement time.
    const order = await store.getOrder(orderId);
    if (!order) {
      throw new PermanentError(
        "order_not_found",
        `order ${orderId} of event ${event.id} is not in the order store`,
      );
    }
    const traceparent = childTraceparent(context.traceparent);
    const result = await steps.ship(order, {
      eventId: event.id,
      shipment: newShipment(order.shippingAddress.country),
      shipped: (shipment) =>
        newCloudEvent({
          type: "order.shipped",
          source: SOURCE,
          subject: orderSubject(orderId),
          data: { orderId, ...shipment, shippedAt: new Date().toISOString() },
          traceparent,
        }),
    });
    switch (result.outcome) {
      case "shipped":
        context.observeStage("SHIPPED", order.placedAt);
        context.logger.info(
          { carrier: result.shipment.carrier, trackingNumber: result.shipment.trackingNumber },
          "shipped",
        );
        return;
      case "already_shipped":
        context.logger.info("order already shipped; nothing to do");
        return;
      case "cancelled":
        context.logger.info("order cancelled before shipping; no shipment");
        return;
      case "stopped":
        context.logger.info("shipment was stopped by a cancel; not shipping");
        return;
      case "not_reserved":
        // Cannot happen (the event is written with the status); if it does, the store is behind: try later.
        throw new RetryableError(`order ${orderId} is not INVENTORY_RESERVED yet`);
      case "rejected":
        context.logger.warn("reservation event for a rejected order; ignored");
        return;
      case "not_found":
        throw new PermanentError("order_not_found", `order ${orderId} of event ${event.id} disappeared`);
    }
  }

  async function cancelled(event: OrderEventOf<"order.cancelled">, context: HandlerContext): Promise<void> {
    // The API cancels before it announces; this covers a cancel that was published some other way. An order past
    // cancelling is left as it is.
    const result = await steps.cancelShipment(event.data.orderId, {
      eventId: event.id,
      reason: event.data.reason ?? "cancelled",
    });
    if (result.outcome === "shipped") {
      context.logger.info("cancel after shipping: the shipment is on its way and cannot be stopped");
      return;
    }
    context.logger.info({ shipmentBefore: result.before || "none" }, "shipment stopped");
  }

  return async (event, context) => {
    if (event.type === "inventory.reserved") return reserved(event, context);
    if (event.type === "order.cancelled") return cancelled(event, context);
    throw new PermanentError("unexpected_type", `shipment does not handle ${event.type}`);
  };
}
