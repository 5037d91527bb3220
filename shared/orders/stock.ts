// Stock, in one place: units per SKU (hash `available`, `reserved`) and each order's reservation of them.
//
// The API sets `available` (PUT /v1/inventory/{sku}) and leaves `reserved` alone; units move between the two
// fields only in Lua, one SKU per script (sku-hold.lua, sku-release.lua, sku-commit.lua: each order's hold on a SKU
// lives in the SKU's slot), driven by the saga steps (saga-steps.ts). A missing hash or field counts as 0.
import { slotGroupsOf, type RedisClient } from "../redis-connection.ts";
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

export const STOCK_FIELDS = { available: "available", reserved: "reserved" } as const;

const SCRIPTS = {
  efSkuHold: "sku-hold.lua",
  efSkuRelease: "sku-release.lua",
  efSkuCommit: "sku-commit.lua",
} as const;

/** An order's hold on one SKU (lua/stock-holds.lua); `short` and the first `held` stick for the order. */
export type HoldDecision =
  | { status: "held" | "released" | "committed" }
  | { status: "short"; /** Units there were when the hold was refused. */ available: number };

/** Order lines with one entry per SKU (an order may list a SKU twice), in a stable order. */
export function linesPerSku(items: readonly StockLine[]): StockLine[] {
  const totals = new Map<string, number>();
  for (const { sku, quantity } of items) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return [...totals]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([sku, quantity]) => ({ sku, quantity }));
}

/** Stock levels and an order's reservation status. */
export class Stock {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, options: { env: string; slotGroups?: number }) {
    this.#redis = redis;
    this.#keys = redisKeys(options.env, { slotGroups: options.slotGroups ?? slotGroupsOf(redis) });
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

  /** The order's reservation as the order side recorded it (lua/reservation.lua). */
  async status(orderId: string): Promise<ReservationStatus | undefined> {
    return ((await this.#redis.hget(this.#keys.reservation(orderId), "status")) ?? undefined) as
      ReservationStatus | undefined;
  }
}

/**
 * The per-SKU halves of reservations: one script per SKU in the SKU's slot, each idempotent by order id (a Redis
 * Cluster cannot move several SKUs in one script). The saga steps (saga-steps.ts) combine them with the order side.
 */
export class StockHolds {
  readonly #keys: RedisKeys;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand>;

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.#keys = keys;
    this.#scripts = defineLuaScripts(redis, import.meta.url, SCRIPTS);
  }

  #keysOf(orderId: string, sku: string): [number, string, string] {
    return [2, this.#keys.stock(sku), this.#keys.stockHold(sku, orderId)];
  }

  /** Holds `line.quantity` units for the order, or refuses (short) for good; a repeat returns the first decision. */
  async hold(orderId: string, line: StockLine, now: string): Promise<HoldDecision> {
    const [status, available] = (await this.#scripts.efSkuHold(
      ...this.#keysOf(orderId, line.sku),
      line.quantity,
      now,
    )) as [string, string];
    if (status === "short") return { status, available: Number(available) };
    return { status: status as "held" | "released" | "committed" };
  }

  /** Gives back every SKU's held units, once; SKUs never held get a tombstone so that a late hold takes nothing. */
  async releaseAll(orderId: string, lines: readonly StockLine[], now: string): Promise<void> {
    await Promise.all(
      lines.map((line) => this.#scripts.efSkuRelease(...this.#keysOf(orderId, line.sku), now)),
    );
  }

  /** After shipping: every SKU's held units leave stock for good, once. */
  async commitAll(orderId: string, lines: readonly StockLine[], now: string): Promise<void> {
    await Promise.all(
      lines.map((line) => this.#scripts.efSkuCommit(...this.#keysOf(orderId, line.sku), now)),
    );
  }
}
