// The inventory operations: read and set the stock of a SKU.
import type { Request, Response } from "express";
import type { OrderStore } from "../shared/orders/order-store.ts";
import { setStockRequest, skuParam } from "./order-request.ts";
import { storeCall } from "./problem.ts";
import { parseOr400 } from "./request-validation.ts";

type Handler = (request: Request, response: Response) => Promise<void>;

export function inventoryHandlers(store: OrderStore): { getStock: Handler; setStock: Handler } {
  return {
    getStock: async (request, response) => {
      const sku = parseOr400(skuParam, request.params.sku, "SKU");
      response.json(await storeCall(() => store.getStock(sku)));
    },
    setStock: async (request, response) => {
      const sku = parseOr400(skuParam, request.params.sku, "SKU");
      const body = parseOr400(setStockRequest, request.body, "stock update");
      response.json(await storeCall(() => store.setAvailable(sku, body.available)));
    },
  };
}
