// The routes of the order API in one table: app.ts serves them and openapi.ts documents them from it.
import type { z } from "zod";
import { SCOPES, type Scope } from "./auth.ts";
import {
  cancelOrderRequest,
  orderAccepted,
  orderIdParam,
  orderView,
  placeOrderRequest,
  setStockRequest,
  skuParam,
  stockLevel,
} from "./order-request.ts";

export type OperationId = "placeOrder" | "getOrder" | "cancelOrder" | "getStock" | "setStock";

export interface RouteSpec {
  operationId: OperationId;
  method: "get" | "post" | "put";
  /** Express path (`:id`); openapi.ts turns it into `{id}`. */
  path: string;
  summary: string;
  /** More than the summary says, for the document (the scope is added to it). */
  description?: string;
  scope: Scope;
  params?: Record<string, z.ZodType>;
  body?: { schema: z.ZodType; required: boolean };
  /** Extra request headers the route reads. */
  headers?: Record<string, { description: string; schema: z.ZodType }>;
  /** Success answers; `headers`: response headers besides X-Request-Id and the RateLimit pair. */
  responses: Record<
    number,
    { description: string; schema?: z.ZodType; headers?: ("Location" | "Idempotent-Replayed")[] }
  >;
  /** Problem statuses besides the ones every route can answer (400, 401, 403, 404, 405, 408, 429, 431, 503). */
  problems: number[];
}

export const ROUTES: readonly RouteSpec[] = [
  {
    operationId: "placeOrder",
    method: "post",
    path: "/v1/orders",
    summary: "Place an order: recorded and acknowledged at once, processed asynchronously",
    description:
      "The calling principal becomes the order's owner. With an Idempotency-Key, the same principal sending the same key and body again gets the first answer (Idempotent-Replayed: true) and no second order. A 503 of type write-not-acknowledged means the order was written but too few Redis replicas confirmed it in time: it may or may not be kept, so retry with the same Idempotency-Key and body to learn which (never a second order). A 503 of type replicas-behind means nothing was written: retry shortly.",
    scope: SCOPES.ordersWrite,
    body: { schema: placeOrderRequest, required: true },
    responses: {
      202: {
        description: "Accepted; the order is ACKNOWLEDGED",
        schema: orderAccepted,
        headers: ["Location", "Idempotent-Replayed"],
      },
    },
    problems: [413, 415, 422],
  },
  {
    operationId: "getOrder",
    method: "get",
    path: "/v1/orders/:id",
    summary: "An order with its status, version and history",
    description:
      "Only the principal that placed the order, or one with `orders:admin`, may read it; anyone else gets 404.",
    scope: SCOPES.ordersRead,
    params: { id: orderIdParam },
    responses: { 200: { description: "The order", schema: orderView } },
    problems: [],
  },
  {
    operationId: "cancelOrder",
    method: "post",
    path: "/v1/orders/:id/cancel",
    summary: "Cancel an order that has not shipped",
    description:
      "Only the principal that placed the order, or one with `orders:admin`, may cancel it; anyone else gets 404.",
    scope: SCOPES.ordersWrite,
    params: { id: orderIdParam },
    body: { schema: cancelOrderRequest, required: false },
    responses: {
      202: { description: "Accepted; the order is CANCELLED", schema: orderAccepted, headers: ["Location"] },
    },
    problems: [409, 413, 415],
  },
  {
    operationId: "getStock",
    method: "get",
    path: "/v1/inventory/:sku",
    summary: "Stock of a SKU: available and reserved units",
    scope: SCOPES.inventoryAdmin,
    params: { sku: skuParam },
    responses: { 200: { description: "Stock of the SKU (0/0 when never set)", schema: stockLevel } },
    problems: [],
  },
  {
    operationId: "setStock",
    method: "put",
    path: "/v1/inventory/:sku",
    summary: "Set the units available for reservation (reserved units are kept)",
    scope: SCOPES.inventoryAdmin,
    params: { sku: skuParam },
    body: { schema: setStockRequest, required: true },
    responses: { 200: { description: "Stock of the SKU after the change", schema: stockLevel } },
    problems: [413, 415],
  },
];

/** `/v1/orders/:id` → `/v1/orders/{id}` (also the `route` label of the HTTP metrics). */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, "{$1}");
