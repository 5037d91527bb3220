// Where stock per SKU lives in Redis: the contract between the API (seeds and reads it) and the inventory worker.

/**
 * Stock of one SKU is a hash `ef:<EVENTFLEET_ENV>:stock:<sku>` with two integer fields:
 * - `available`: units that can still be reserved (on hand minus reserved);
 * - `reserved`: units held by reservations that have not shipped or been released.
 * A missing hash or field counts as 0. The API's `PUT /v1/inventory/{sku}` sets `available` and leaves
 * `reserved` alone; the inventory worker moves units between the two fields atomically in Lua.
 */
export function stockKey(env: string, sku: string): string {
  return `ef:${env}:stock:${sku}`;
}

export const STOCK_FIELDS = { available: "available", reserved: "reserved" } as const;
