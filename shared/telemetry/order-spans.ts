// The order flow's hooks: the outbox write of an order event and the creation of a worker's follow-up event.
import { annotateActiveSpan, annotateRequestSpan, type OpenSpan } from "./spans.ts";
import { ATTR, createdTraceparent, startCreateSpan } from "./messaging-spans.ts";

/** The logical destination of every order event: the outbox relays it to the SNS topic `orders`. */
export const ORDERS_DESTINATION = "orders";

/**
 * The API's outbox write: a `create orders` span under the request; the event carries its traceparent. The order id
 * also goes on the handler's span and on the request's root span (what an operator finds a trace by).
 */
export function startOutboxSpan(parent: string, eventType: string, orderId: string): OpenSpan | undefined {
  annotateActiveSpan({ [ATTR.orderId]: orderId });
  annotateRequestSpan({ [ATTR.orderId]: orderId });
  return startCreateSpan({ parent, destination: ORDERS_DESTINATION, eventType, orderId });
}

/**
 * A POST replayed by its Idempotency-Key: the spans (the outbox span, still open, the handler's and the request's)
 * name the order the key made the first time, not the id this attempt drew and never stored.
 */
export function markReplayedOrder(outbox: OpenSpan | undefined, orderId: string): void {
  const attributes = { [ATTR.orderId]: orderId, [ATTR.idempotentReplay]: true };
  outbox?.span.setAttributes(attributes);
  annotateActiveSpan(attributes);
  annotateRequestSpan(attributes);
}

/** A follow-up event's traceparent (a `create orders` span under the handled event's), or undefined when off. */
export function followUpTraceparent(parent: string, eventType?: string): string | undefined {
  return createdTraceparent({ parent, destination: ORDERS_DESTINATION, eventType: eventType ?? "unknown" });
}
