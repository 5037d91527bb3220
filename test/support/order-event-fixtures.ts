// Valid order CloudEvents for tests, built with the same constructor the producers use.
import { randomUUID } from "node:crypto";
import { newCloudEvent, newTraceparent } from "../../shared/events/cloudevent.ts";
import { orderSubject, type OrderPlacedData } from "../../shared/events/order-events.ts";

export function placedData(overrides: Partial<OrderPlacedData> = {}): OrderPlacedData {
  return {
    orderId: randomUUID(),
    customerId: "customer-1",
    items: [{ sku: "SKU-1", quantity: 2, unitPriceCents: 1250 }],
    currency: "EUR",
    totalCents: 2500,
    shippingAddress: {
      name: "Ada Lovelace",
      line1: "1 Analytical Way",
      city: "London",
      postalCode: "N1 1AA",
      country: "GB",
    },
    contact: { email: "ada@example.com" },
    placedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function placedEvent(overrides: Partial<OrderPlacedData> = {}) {
  const data = placedData(overrides);
  return newCloudEvent({
    type: "order.placed",
    source: "/eventfleet/test",
    subject: orderSubject(data.orderId),
    data,
    traceparent: newTraceparent(),
    orderversion: 1,
  });
}

export function cancelledEvent(orderId: string, orderversion = 2) {
  return newCloudEvent({
    type: "order.cancelled",
    source: "/eventfleet/test",
    subject: orderSubject(orderId),
    data: { orderId, reason: "changed my mind", cancelledAt: new Date().toISOString() },
    traceparent: newTraceparent(),
    orderversion,
  });
}

/** SNS message attributes as the relay sets them (RawMessageDelivery keeps them on the SQS message). */
export function eventAttributes(event: { type: string; traceparent?: string }) {
  return {
    type: { DataType: "String", StringValue: event.type },
    ...(event.traceparent ? { traceparent: { DataType: "String", StringValue: event.traceparent } } : {}),
  };
}
