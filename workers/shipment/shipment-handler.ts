// The shipment worker: inventory.reserved ships the order once (carrier, tracking number); a cancel first stops it.
import { newCloudEvent } from "../../shared/events/cloudevent.ts";
import { orderSubject, type OrderEvent, type OrderEventOf } from "../../shared/events/order-events.ts";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import type { OrderStore } from "../../shared/orders/order-store.ts";
import type { StockReservations } from "../inventory/stock-reservations.ts";
import type { EventHandler, HandlerContext } from "../sqs-runtime/sqs-worker.ts";
import { childTraceparent } from "../sqs-runtime/trace-context.ts";
import type { Shipments } from "./shipments.ts";

export const SHIPMENT_EVENTS = ["inventory.reserved", "order.cancelled"] as const;
const SOURCE = "/eventfleet/worker/shipment";

export interface ShipmentHandlerDeps {
  store: OrderStore;
  shipments: Shipments;
  reservations: StockReservations;
}

export function createShipmentHandler({
  store,
  shipments,
  reservations,
}: ShipmentHandlerDeps): EventHandler<OrderEvent> {
  async function reserved(event: OrderEventOf<"inventory.reserved">, context: HandlerContext): Promise<void> {
    const { orderId } = event.data;
    const order = await store.getOrder(orderId);
    if (!order) {
      throw new PermanentError(
        "order_not_found",
        `order ${orderId} of event ${event.id} is not in the order store`,
      );
    }
    switch (order.status) {
      case "CANCELLED":
        await shipments.cancel(orderId);
        context.logger.info("order cancelled before shipping; no shipment");
        return;
      case "SHIPPED":
        // A redelivery after the transition: make sure the stock was taken out (exactly once).
        await reservations.commit(orderId, order.items);
        context.logger.info("order already shipped; nothing to do");
        return;
      case "ACKNOWLEDGED":
        // Cannot happen (the event is written with the status); if it does, the store is behind: try later.
        throw new RetryableError(`order ${orderId} is not INVENTORY_RESERVED yet`);
      case "REJECTED":
        context.logger.warn("reservation event for a rejected order; ignored");
        return;
      case "INVENTORY_RESERVED":
        break;
    }
    const shipment = await shipments.create(orderId, order.shippingAddress.country);
    if (shipment.status === "cancelled") {
      context.logger.info("shipment was stopped by a cancel; not shipping");
      return;
    }
    const shippedAt = new Date().toISOString();
    const result = await store.transition(orderId, {
      allowedFrom: ["INVENTORY_RESERVED"],
      to: "SHIPPED",
      expectedVersion: order.version,
      history: {
        eventId: event.id,
        detail: {
          shipmentId: shipment.shipmentId,
          carrier: shipment.carrier,
          trackingNumber: shipment.trackingNumber,
        },
      },
      events: [
        newCloudEvent({
          type: "order.shipped",
          source: SOURCE,
          subject: orderSubject(orderId),
          data: {
            orderId,
            shipmentId: shipment.shipmentId,
            carrier: shipment.carrier,
            trackingNumber: shipment.trackingNumber,
            shippedAt,
          },
          traceparent: childTraceparent(context.traceparent),
        }),
      ],
    });
    if (!result.applied && result.reason === "stale_version") {
      // Changed since we read it (a cancel, most likely): retry, and the next attempt sees the new state.
      throw new RetryableError(`order ${orderId} changed while shipping it; retrying`);
    }
    if (result.applied) {
      await shipments.markShipped(orderId);
      await reservations.commit(orderId, order.items);
      context.observeStage("SHIPPED", order.placedAt);
      context.logger.info({ carrier: shipment.carrier, trackingNumber: shipment.trackingNumber }, "shipped");
    } else if (result.order?.status === "CANCELLED") {
      await shipments.cancel(orderId);
      context.logger.info("order cancelled while shipping; shipment stopped");
    } else if (result.order?.status === "SHIPPED") {
      await reservations.commit(orderId, order.items);
    }
  }

  async function cancelled(event: OrderEventOf<"order.cancelled">, context: HandlerContext): Promise<void> {
    const { orderId } = event.data;
    const order = await store.getOrder(orderId);
    // The API cancels before it announces; this covers a cancel that was published some other way. An order past
    // cancelling is left as it is, and its status comes back all the same.
    const cancel = await store.cancel(orderId, {
      eventId: event.id,
      reason: event.data.reason ?? "cancelled",
    });
    const status = cancel.order?.status;
    if (status === "SHIPPED") {
      context.logger.info("cancel after shipping: the shipment is on its way and cannot be stopped");
      return;
    }
    const before = await shipments.cancel(orderId);
    if (before === "created" && order) {
      await store.appendHistory(orderId, { stage: "SHIPMENT_STOPPED", eventId: event.id });
    }
    context.logger.info({ shipmentBefore: before || "none" }, "shipment stopped");
  }

  return async (event, context) => {
    if (event.type === "inventory.reserved") return reserved(event, context);
    if (event.type === "order.cancelled") return cancelled(event, context);
    throw new PermanentError("unexpected_type", `shipment does not handle ${event.type}`);
  };
}
