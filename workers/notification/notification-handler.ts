// The notification worker: tells the customer about placed, rejected, shipped and cancelled orders, once per event.
import { FILTERS } from "../../shared/topology/topology.ts";
import type { OrderEvent } from "../../shared/events/order-events.ts";
import { PermanentError, RetryableError, errorMessage } from "../../shared/errors.ts";
import type { OrderStore } from "../../shared/orders/order-store.ts";
import type { EventHandler, HandlerContext } from "../sqs-runtime/sqs-worker.ts";
import type { DeliveryLease } from "./delivery-lease.ts";
import { renderNotification } from "./notification-message.ts";
import type { WebhookClient } from "./webhook-client.ts";

export interface NotificationHandlerDeps {
  store: OrderStore;
  /** Absent when NOTIFY_WEBHOOK_URL is unset: notifications are only logged. */
  webhook: WebhookClient | undefined;
  /** Serialises copies of one event, so only one delivers and records it. */
  lease: DeliveryLease;
}

export function createNotificationHandler({
  store,
  webhook,
  lease,
}: NotificationHandlerDeps): EventHandler<OrderEvent> {
  return async (event, context) => {
    if (!FILTERS.notification.includes(event.type)) {
      throw new PermanentError("unexpected_type", `notification does not handle ${event.type}`);
    }
    // Another copy of this event being delivered finishes (or its lease runs out) within the lease's lifetime;
    // afterwards this copy finds its NOTIFIED entry and stops. Twice the lifetime leaves room for a slow machine.
    const token = await lease.acquireWaiting(event.id, 2 * lease.ttlMs + 1000);
    if (token === undefined) {
      throw new RetryableError(`another delivery of event ${event.id} held its lease too long; will retry`);
    }
    try {
      await deliverOnce(event, context, { store, webhook });
    } finally {
      // If this fails the lease just runs out; the delivery's own outcome is what counts.
      await lease
        .release(event.id, token)
        .catch((error: unknown) =>
          context.logger.warn({ err: error }, `notification lease not released: ${errorMessage(error)}`),
        );
    }
  };
}

/** Delivers unless the history says this event was already delivered; records NOTIFIED afterwards. */
async function deliverOnce(
  event: OrderEvent,
  context: HandlerContext,
  { store, webhook }: Pick<NotificationHandlerDeps, "store" | "webhook">,
): Promise<void> {
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
}
