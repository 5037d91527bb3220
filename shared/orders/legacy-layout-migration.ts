// One-shot move of a single Redis from the key layout before slot groups (no hash tags) to the current one
// (shared/redis-keys.ts): orders with their history, reservation and shipment into their slot group, stock hashes
// into their SKU's slot, and the per-SKU holds the current saga steps expect, derived from each former reservation.
// Run with the order roles stopped (`eventfleet redis migrate-keys`); the former outbox stream is left to the relay,
// which drains it. Former Idempotency-Key entries are not moved: they expire within IDEMPOTENCY_TTL_SECONDS.
import { Cluster, type Redis } from "ioredis";
import type { OrderPlacedData } from "../events/order-events.ts";
import type { RedisClient } from "../redis-connection.ts";
import { redisKeys, type RedisKeys } from "../redis-keys.ts";
import { linesPerSku, type StockLine } from "./stock.ts";

export interface LegacyMigrationReport {
  orders: number;
  /** Reservations and shipments without an order (tombstones of cancels for unknown orders). */
  orphans: number;
  stock: number;
  holds: number;
  /** Keys left as they were, each with why (the current key exists already). */
  skipped: string[];
}

/** The hold each SKU of an order gets from its former reservation status (lua/stock-holds.lua). */
const HOLD_OF: Record<string, "held" | "committed" | "released"> = {
  reserved: "held",
  shipped: "committed",
  released: "released",
  rejected: "released",
  cancelled: "released",
};

async function* scanKeys(redis: Redis, match: string) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", 500);
    cursor = next;
    yield* keys;
  } while (cursor !== "0");
}

/** The lines each SKU hold covers: the reservation's own lines when it held units, else the order's SKUs at 0. */
function holdLines(status: string, detail: string | null, order: OrderPlacedData | undefined): StockLine[] {
  if ((status === "reserved" || status === "shipped" || status === "released") && detail) {
    const lines = JSON.parse(detail) as StockLine[];
    if (Array.isArray(lines) && lines.every((l) => typeof l.sku === "string")) return lines;
  }
  return linesPerSku(order?.items ?? []).map((line) => ({ sku: line.sku, quantity: 0 }));
}

export async function migrateLegacyLayout(
  redis: RedisClient,
  options: { env: string; slotGroups?: number; dryRun?: boolean },
): Promise<LegacyMigrationReport> {
  if (redis instanceof Cluster) {
    throw new Error(
      "the layout before slot groups exists only on a single Redis (its scripts cannot run on a cluster): " +
        "run the migration against that Redis (REDIS_URL, without REDIS_CLUSTER_NODES)",
    );
  }
  const keys: RedisKeys = redisKeys(options.env, { slotGroups: options.slotGroups });
  const { legacy } = keys;
  const report: LegacyMigrationReport = { orders: 0, orphans: 0, stock: 0, holds: 0, skipped: [] };
  const now = new Date().toISOString();

  for await (const key of scanKeys(redis, legacy.patterns.order)) {
    const orderId = legacy.idOf("order", key);
    if (!orderId) continue;
    if ((await redis.exists(keys.order(orderId))) === 1) {
      report.skipped.push(`${key}: ${keys.order(orderId)} exists already`);
      continue;
    }
    const data = await redis.hget(key, "data");
    const order = data ? (JSON.parse(data) as OrderPlacedData) : undefined;
    const [status, detail] = await redis.hmget(legacy.reservation(orderId), "status", "detail");
    const moves: [string, string][] = [
      [key, keys.order(orderId)],
      [legacy.history(orderId), keys.history(orderId)],
      [legacy.reservation(orderId), keys.reservation(orderId)],
      [legacy.shipment(orderId), keys.shipment(orderId)],
    ];
    const present = await Promise.all(moves.map(([from]) => redis.exists(from)));
    const holds = status && HOLD_OF[status] ? holdLines(status, detail ?? null, order) : [];
    report.orders += 1;
    report.holds += holds.length;
    if (options.dryRun) continue;
    // One MULTI per order: its keys move together with the holds that describe its reservation.
    const multi = redis.multi();
    moves.forEach(([from, to], i) => {
      if (present[i] === 1) multi.rename(from, to);
    });
    for (const line of holds) {
      multi.hset(keys.stockHold(line.sku, orderId), {
        status: HOLD_OF[status!]!,
        quantity: line.quantity,
        at: now,
      });
    }
    await multi.exec();
  }

  // Reservations and shipments left without their order: tombstones of cancels that came first.
  for (const family of ["reservation", "shipment"] as const) {
    for await (const key of scanKeys(redis, legacy.patterns[family])) {
      const orderId = legacy.idOf(family, key);
      // An order's own (still there in a dry run) moves with the order above.
      if (!orderId || (await redis.exists(legacy.order(orderId))) === 1) continue;
      const target = family === "reservation" ? keys.reservation(orderId) : keys.shipment(orderId);
      if ((await redis.exists(target)) === 1) {
        report.skipped.push(`${key}: ${target} exists already`);
        continue;
      }
      report.orphans += 1;
      if (!options.dryRun) await redis.rename(key, target);
    }
  }

  for await (const key of scanKeys(redis, legacy.patterns.stock)) {
    const sku = legacy.idOf("stock", key);
    if (!sku) continue;
    if ((await redis.exists(keys.stock(sku))) === 1) {
      report.skipped.push(`${key}: ${keys.stock(sku)} exists already (stock set after the upgrade)`);
      continue;
    }
    report.stock += 1;
    if (!options.dryRun) await redis.rename(key, keys.stock(sku));
  }
  return report;
}
