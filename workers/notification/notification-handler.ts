// The notification worker: tells the customer about placed, rejected, shipped and cancelled orders, once per event.
import type { OrderEvent } from "../../shared/events/order-events.ts";
import { PermanentError } from "../../shared/errors.ts";
import type { OrderStore } from "../../shared/orders/order-store.ts";
import type { EventHandler } from "../sqs-runtime/sqs-worker.ts";
import { renderNotification } from "./notification-message.ts";
import type { WebhookClient } from "./webhook-client.ts";

export const NOTIFICATION_EVENTS = [
  "order.placed",
  "inventory.rejected",
  "order.shipped",
  "order.cancelled",
] as const;

export interface NotificationHandlerDeps {
  store: OrderStore;
  /** Absent when NOTIFY_WEBHOOK_URL is unset: notifications are only logged. */
  webhook: WebhookClient | undefined;
}

export function createNotificationHandler({
  store,
  webhook,
}: NotificationHandlerDeps): EventHandler<OrderEvent> {
  return async (event, context) => {
    if (!(NOTIFICATION_EVENTS as readonly string[]).includes(event.type)) {
      throw new PermanentError("unexpected_type", `notification does not handle ${event.type}`);
    }
    const orderId = event.data.orderId;
    const order = await store.getOrder(orderId);
    // The history says whether this event was already delivered (a crash after the POST, before the marker).
    if (order?.history.some((entry) => entry.stage === "NOTIFIED" && entry.eventId === event.id)) {
      context.logger.info("already notified for this event");
      return;
    }
    const message = renderNotification(event);
    const contact = order?.contact ?? (event.type === "order.placed" ? event.data.contact : undefined);
    const payload = {
      eventId: event.id,
      type: event.type,
      orderId,
      time: event.time,
      to: contact ?? {},
      ...message,
    };
    let channel = "log";
    let status: number | undefined;
    if (webhook) {
      status = await webhook.deliver(payload, event.id);
      channel = "webhook";
    } else {
      context.logger.info(
        { notification: payload },
        `notification (no NOTIFY_WEBHOOK_URL): ${message.subject}`,
      );
    }
    if (order) {
      await store.appendHistory(orderId, {
        stage: "NOTIFIED",
        eventId: event.id,
        detail: { event: event.type, channel, ...(status !== undefined ? { status } : {}) },
      });
      context.observeStage("NOTIFIED", order.placedAt);
    }
    context.logger.info({ channel, status }, `notified: ${message.subject}`);
  };
}
