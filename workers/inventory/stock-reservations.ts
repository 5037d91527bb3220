// Stock reservations per order: reserve all lines or none, release on cancel, commit on shipping; each one Lua script.
import type { Redis } from "ioredis";
import { defineLuaScripts, type ScriptCommand } from "../../shared/lua-scripts.ts";
import { envPrefix } from "../../shared/orders/order-keys.ts";
import { stockKey } from "../../shared/orders/stock-keys.ts";

export interface StockLine {
  sku: string;
  quantity: number;
}

export interface MissingLine {
  sku: string;
  requested: number;
  available: number;
}

/** Reservation status of an order; `cancelled` is the tombstone of a cancel that came before any reservation. */
export type ReservationStatus = "reserved" | "rejected" | "released" | "cancelled" | "shipped";

export type ReserveResult =
  | { status: "reserved"; lines: StockLine[] }
  | { status: "rejected"; missing: MissingLine[] }
  | { status: "released" | "cancelled" | "shipped" };

const SCRIPTS = {
  efStockReserve: "stock-reservation.lua",
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

export class StockReservations {
  readonly #redis: Redis;
  readonly #env: string;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand<[string, string]>>;

  constructor(redis: Redis, options: { env: string }) {
    this.#redis = redis;
    this.#env = options.env;
    this.#scripts = defineLuaScripts<keyof typeof SCRIPTS, [string, string]>(redis, import.meta.url, SCRIPTS);
  }

  reservationKey(orderId: string): string {
    return `${envPrefix(this.#env)}reservation:${orderId}`;
  }

  /** All lines or none; calling it again for the same order returns the first outcome and changes nothing. */
  async reserve(orderId: string, items: readonly StockLine[]): Promise<ReserveResult> {
    const lines = linesPerSku(items);
    const [status, detail] = await this.#scripts.efStockReserve(
      lines.length + 1,
      this.reservationKey(orderId),
      ...lines.map((l) => stockKey(this.#env, l.sku)),
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
    const skus = linesPerSku(items).map((l) => l.sku);
    const [outcome] = await this.#scripts.efStockRelease(
      skus.length + 1,
      this.reservationKey(orderId),
      ...skus.map((sku) => stockKey(this.#env, sku)),
      ...skus,
      new Date().toISOString(),
    );
    return outcome as "released" | "tombstoned" | "unchanged";
  }

  /** After shipping: the reserved units leave stock for good, exactly once. */
  async commit(orderId: string, items: readonly StockLine[]): Promise<"committed" | "unchanged"> {
    const skus = linesPerSku(items).map((l) => l.sku);
    const [outcome] = await this.#scripts.efStockCommit(
      skus.length + 1,
      this.reservationKey(orderId),
      ...skus.map((sku) => stockKey(this.#env, sku)),
      ...skus,
      new Date().toISOString(),
    );
    return outcome as "committed" | "unchanged";
  }

  async status(orderId: string): Promise<ReservationStatus | undefined> {
    return ((await this.#redis.hget(this.reservationKey(orderId), "status")) ?? undefined) as
      ReservationStatus | undefined;
  }
}
