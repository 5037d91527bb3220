// Request and response schemas of the order API: the routes validate with them and /openapi.json is made of them.
import { z } from "zod";
import {
  cancelReason,
  contact,
  customerId,
  orderLine,
  orderStatus,
  shippingAddress,
} from "../shared/events/order-events.ts";

export const placeOrderRequest = z
  .strictObject({
    customerId,
    items: z.array(orderLine).min(1).max(100),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .describe("ISO 4217 currency code"),
    shippingAddress,
    contact,
  })
  .meta({ id: "PlaceOrderRequest" });
export type PlaceOrderRequest = z.infer<typeof placeOrderRequest>;

export const cancelOrderRequest = z
  .strictObject({ reason: cancelReason.optional() })
  .meta({ id: "CancelOrderRequest" });

export const setStockRequest = z
  .strictObject({ available: z.number().int().min(0).max(1_000_000_000) })
  .meta({ id: "SetStockRequest" });

export const orderAccepted = z
  .object({
    id: z.uuid(),
    status: orderStatus,
    version: z.number().int().positive(),
  })
  .meta({ id: "OrderAccepted" });
export type OrderAccepted = z.infer<typeof orderAccepted>;

export const historyEntry = z.object({
  stage: z.string(),
  at: z.iso.datetime({ offset: true }),
  status: orderStatus.optional(),
  version: z.number().int(),
  eventId: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

export const orderView = z
  .object({
    id: z.uuid(),
    status: orderStatus,
    version: z.number().int().positive(),
    customerId: z.string(),
    items: z.array(orderLine),
    currency: z.string(),
    totalCents: z.number().int(),
    shippingAddress,
    contact,
    placedAt: z.iso.datetime({ offset: true }),
    updatedAt: z.iso.datetime({ offset: true }),
    history: z.array(historyEntry),
  })
  .meta({ id: "Order" });

export const stockLevel = z
  .object({ sku: z.string(), available: z.number().int(), reserved: z.number().int() })
  .meta({ id: "StockLevel" });

export const problemDetails = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem" });

export const orderIdParam = z.uuid();
export const skuParam = orderLine.shape.sku;
