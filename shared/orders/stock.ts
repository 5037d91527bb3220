// Stock, in one place: units per SKU (hash `available`, `reserved`) and each order's reservation of them.
//
// The API sets `available` (PUT /v1/inventory/{sku}) and leaves `reserved` alone; units move between the two
// fields only in Lua (lua/stock-moves.lua), inside the saga steps (saga-steps.ts) or the single-order moves here.
// A missing hash or field counts as 0.
import type { RedisClient } from "../redis-connection.ts";
import { defineLuaScripts, type ScriptCommand } from "../lua-scripts.ts";
import { redisKeys, type RedisKeys } from "../redis-keys.ts";

export interface StockLine {
  sku: string;
  quantity: number;
}

export interface MissingLine {
  sku: string;
  requested: number;
  available: number;
}

export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
}

/** Reservation status of an order; `cancelled` is the tombstone of a cancel that came before any reservation. */
export type ReservationStatus = "reserved" | "rejected" | "released" | "cancelled" | "shipped";

export type ReserveResult =
  | { status: "reserved"; lines: StockLine[] }
  | { status: "rejected"; missing: MissingLine[] }
  | { status: "released" | "cancelled" | "shipped" };

export const STOCK_FIELDS = { available: "available", reserved: "reserved" } as const;

const SCRIPTS = {
  efStockReserve: "stock-reserve.lua",
  efStockRelease: "stock-release.lua",
  efStockCommit: "stock-commit.lua",
} as const;

/** Order lines with one entry per SKU (an order may list a SKU twice), in a stable order. */
export function linesPerSku(items: readonly StockLine[]): StockLine[] {
  const totals = new Map<string, number>();
  for (const { sku, quantity } of items) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return [...totals]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([sku, quantity]) => ({ sku, quantity }));
}

/** Stock levels and single-order reservations. One per Redis client (it defines its scripts on it). */
export class Stock {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand<[string, string]>>;

  constructor(redis: RedisClient, options: { env: string }) {
    this.#redis = redis;
    this.#keys = redisKeys(options.env);
    this.#scripts = defineLuaScripts<keyof typeof SCRIPTS, [string, string]>(redis, import.meta.url, SCRIPTS);
  }

  /** Stock of a SKU; an unknown SKU has 0 available and 0 reserved. */
  async get(sku: string): Promise<StockLevel> {
    const [available, reserved] = await this.#redis.hmget(
      this.#keys.stock(sku),
      STOCK_FIELDS.available,
      STOCK_FIELDS.reserved,
    );
    return { sku, available: Number(available ?? 0), reserved: Number(reserved ?? 0) };
  }

  /** Sets the units available for reservation; reservations already held stay as they are. */
  async setAvailable(sku: string, available: number): Promise<StockLevel> {
    const key = this.#keys.stock(sku);
    const [, fields] = (await this.#redis
      .multi()
      .hset(key, STOCK_FIELDS.available, available)
      .hmget(key, STOCK_FIELDS.available, STOCK_FIELDS.reserved)
      .exec()) as [[Error | null, unknown], [Error | null, (string | null)[]]];
    if (fields[0]) throw fields[0];
    const [a, r] = fields[1];
    return { sku, available: Number(a ?? 0), reserved: Number(r ?? 0) };
  }

  /** All lines or none; calling it again for the same order returns the first outcome and changes nothing. */
  async reserve(orderId: string, items: readonly StockLine[]): Promise<ReserveResult> {
    const lines = linesPerSku(items);
    const [status, detail] = await this.#scripts.efStockReserve(
      lines.length + 1,
      this.#keys.reservation(orderId),
      ...lines.map((l) => this.#keys.stock(l.sku)),
      lines.length,
      ...lines.flatMap((l) => [l.sku, l.quantity]),
      new Date().toISOString(),
    );
    if (status === "reserved") return { status, lines: JSON.parse(detail) as StockLine[] };
    if (status === "rejected") return { status, missing: JSON.parse(detail) as MissingLine[] };
    return { status: status as "released" | "cancelled" | "shipped" };
  }

  /** Gives reserved units back exactly once; with nothing reserved yet, leaves a tombstone that blocks a later reserve. */
  async release(
    orderId: string,
    items: readonly StockLine[],
  ): Promise<"released" | "tombstoned" | "unchanged"> {
    const [outcome] = await this.#scripts.efStockRelease(...this.#settleArgs(orderId, items));
    return outcome as "released" | "tombstoned" | "unchanged";
  }

  /** After shipping: the reserved units leave stock for good, exactly once. */
  async commit(orderId: string, items: readonly StockLine[]): Promise<"committed" | "unchanged"> {
    const [outcome] = await this.#scripts.efStockCommit(...this.#settleArgs(orderId, items));
    return outcome as "committed" | "unchanged";
  }

  async status(orderId: string): Promise<ReservationStatus | undefined> {
    return ((await this.#redis.hget(this.#keys.reservation(orderId), "status")) ?? undefined) as
      ReservationStatus | undefined;
  }

  #settleArgs(orderId: string, items: readonly StockLine[]): (string | number)[] {
    const skus = linesPerSku(items).map((l) => l.sku);
    return [
      skus.length + 1,
      this.#keys.reservation(orderId),
      ...skus.map((sku) => this.#keys.stock(sku)),
      ...skus,
      new Date().toISOString(),
    ];
  }
}
