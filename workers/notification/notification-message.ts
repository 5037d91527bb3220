// What the customer is told for each order event: a subject and a line of text, rendered per event type.
import type { OrderEvent } from "../../shared/events/order-events.ts";

export interface NotificationMessage {
  subject: string;
  text: string;
}

export function renderNotification(event: OrderEvent): NotificationMessage {
  const short = (orderId: string) => orderId.slice(0, 8);
  switch (event.type) {
    case "order.placed": {
      const { orderId, items, totalCents, currency } = event.data;
      const units = items.reduce((n, line) => n + line.quantity, 0);
      return {
        subject: `Order ${short(orderId)} received`,
        text: `We received your order of ${units} item(s), ${(totalCents / 100).toFixed(2)} ${currency}.`,
      };
    }
    case "inventory.rejected": {
      const skus = event.data.missing.map((m) => m.sku).join(", ");
      return {
        subject: `Order ${short(event.data.orderId)} could not be fulfilled`,
        text: `Sorry, these items are out of stock: ${skus}. You have not been charged.`,
      };
    }
    case "order.shipped":
      return {
        subject: `Order ${short(event.data.orderId)} shipped`,
        text: `Your order is on its way with ${event.data.carrier}, tracking number ${event.data.trackingNumber}.`,
      };
    case "order.cancelled":
      return {
        subject: `Order ${short(event.data.orderId)} cancelled`,
        text: `Your order was cancelled${event.data.reason ? `: ${event.data.reason}` : ""}.`,
      };
    case "inventory.reserved":
      return { subject: `Order ${short(event.data.orderId)} confirmed`, text: "Your items are reserved." };
  }
}
