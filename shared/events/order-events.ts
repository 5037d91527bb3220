// The five order event types of the saga, their data, and the statuses an order moves through.
import { z } from "zod";
import { cloudEventOf } from "./cloudevent.ts";
import { multiLineText, oneLineText } from "./human-text.ts";

export const ORDER_STATUSES = [
  "ACKNOWLEDGED",
  "INVENTORY_RESERVED",
  "REJECTED",
  "SHIPPED",
  "CANCELLED",
] as const;
export const orderStatus = z.enum(ORDER_STATUSES);
export type OrderStatus = z.infer<typeof orderStatus>;

export const ORDER_EVENT_TYPES = [
  "order.placed",
  "order.cancelled",
  "inventory.reserved",
  "inventory.rejected",
  "order.shipped",
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

const orderId = z.uuid().describe("Order id (uuid)");
const sku = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .describe("Stock keeping unit: letters, digits, '.', '_', '-'; 1-64 characters");

export const orderLine = z.strictObject({
  sku,
  quantity: z.number().int().min(1).max(10_000),
  unitPriceCents: z.number().int().min(0).max(100_000_000).describe("Price of one unit in minor units"),
});

export const shippingAddress = z.strictObject({
  name: oneLineText().min(1).max(200),
  line1: oneLineText().min(1).max(200),
  line2: oneLineText().max(200).optional(),
  city: oneLineText().min(1).max(100),
  region: oneLineText().max(100).optional(),
  postalCode: oneLineText().min(1).max(20),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .describe("ISO 3166-1 alpha-2 country code"),
});

export const contact = z
  .strictObject({
    email: z.email().max(254).optional(),
    phone: z
      .string()
      .regex(/^\+[1-9][0-9]{6,14}$/)
      .optional()
      .describe("E.164 phone number"),
  })
  .refine((c) => c.email !== undefined || c.phone !== undefined, {
    message: "give an email or a phone (or both)",
  })
  // The refinement above in JSON Schema terms, so the published schemas say it too.
  .meta({ anyOf: [{ required: ["email"] }, { required: ["phone"] }] });

/** The shop's id of the customer. */
export const customerId = oneLineText().min(1).max(128);

export const orderPlacedData = z.strictObject({
  orderId,
  customerId,
  items: z.array(orderLine).min(1).max(100),
  currency: z.string().regex(/^[A-Z]{3}$/),
  totalCents: z.number().int().min(0),
  shippingAddress,
  contact,
  placedAt: z.iso.datetime({ offset: true }),
});

/** Why an order was cancelled, as the customer or operator wrote it. */
export const cancelReason = multiLineText().max(500);

export const orderCancelledData = z.strictObject({
  orderId,
  reason: cancelReason.optional(),
  cancelledAt: z.iso.datetime({ offset: true }),
});

export const inventoryReservedData = z.strictObject({
  orderId,
  items: z.array(z.strictObject({ sku, quantity: z.number().int().min(1) })).min(1),
  reservedAt: z.iso.datetime({ offset: true }),
});

export const inventoryRejectedData = z.strictObject({
  orderId,
  missing: z
    .array(z.strictObject({ sku, requested: z.number().int().min(1), available: z.number().int().min(0) }))
    .min(1),
  rejectedAt: z.iso.datetime({ offset: true }),
});

export const orderShippedData = z.strictObject({
  orderId,
  shipmentId: z.uuid(),
  carrier: z.string().min(1).max(64),
  trackingNumber: z.string().min(1).max(64),
  shippedAt: z.iso.datetime({ offset: true }),
});

export const orderPlacedEvent = cloudEventOf("order.placed", orderPlacedData);
export const orderCancelledEvent = cloudEventOf("order.cancelled", orderCancelledData);
export const inventoryReservedEvent = cloudEventOf("inventory.reserved", inventoryReservedData);
export const inventoryRejectedEvent = cloudEventOf("inventory.rejected", inventoryRejectedData);
export const orderShippedEvent = cloudEventOf("order.shipped", orderShippedData);

export const orderEvent = z.discriminatedUnion("type", [
  orderPlacedEvent,
  orderCancelledEvent,
  inventoryReservedEvent,
  inventoryRejectedEvent,
  orderShippedEvent,
]);

export type OrderPlacedData = z.infer<typeof orderPlacedData>;
export type OrderCancelledData = z.infer<typeof orderCancelledData>;
export type InventoryReservedData = z.infer<typeof inventoryReservedData>;
export type InventoryRejectedData = z.infer<typeof inventoryRejectedData>;
export type OrderShippedData = z.infer<typeof orderShippedData>;
export type OrderEvent = z.infer<typeof orderEvent>;
export type OrderEventOf<T extends OrderEventType> = Extract<OrderEvent, { type: T }>;

/** The subject of every order event. */
export const orderSubject = (id: string) => `order/${id}`;
