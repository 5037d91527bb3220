// One shipment per order (carrier, tracking number) in Redis; created and cancelled by Lua scripts.
import { randomInt, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { defineLuaScripts, type ScriptCommand } from "../../shared/lua-scripts.ts";
import { envPrefix } from "../../shared/orders/order-keys.ts";

export interface Shipment {
  status: "created" | "cancelled" | "shipped";
  shipmentId: string;
  carrier: string;
  trackingNumber: string;
}

const SCRIPTS = { efShipmentCreate: "shipment-create.lua", efShipmentCancel: "shipment-cancel.lua" } as const;

/** Carrier by destination: a stand-in for a real carrier choice. */
export function carrierFor(country: string): string {
  return ["DE", "AT", "CH", "NL", "BE", "FR"].includes(country) ? "DHL" : "UPS";
}

function trackingNumber(carrier: string): string {
  const digits = Array.from({ length: 12 }, () => randomInt(10)).join("");
  return `${carrier === "UPS" ? "1Z" : "JJD"}${digits}`;
}

export class Shipments {
  readonly #redis: Redis;
  readonly #env: string;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand>;

  constructor(redis: Redis, options: { env: string }) {
    this.#redis = redis;
    this.#env = options.env;
    this.#scripts = defineLuaScripts(redis, import.meta.url, SCRIPTS);
  }

  key(orderId: string): string {
    return `${envPrefix(this.#env)}shipment:${orderId}`;
  }

  /** The order's shipment: created now, or the one an earlier delivery created, or a cancel's tombstone. */
  async create(orderId: string, country: string): Promise<Shipment | { status: "cancelled" }> {
    const carrier = carrierFor(country);
    const [status, shipmentId, storedCarrier, tracking] = (await this.#scripts.efShipmentCreate(
      1,
      this.key(orderId),
      randomUUID(),
      carrier,
      trackingNumber(carrier),
      new Date().toISOString(),
    )) as [Shipment["status"], string | null, string | null, string | null];
    if (!shipmentId || !storedCarrier || !tracking) return { status: "cancelled" };
    return { status, shipmentId, carrier: storedCarrier, trackingNumber: tracking };
  }

  async markShipped(orderId: string): Promise<void> {
    await this.#redis.hset(this.key(orderId), "status", "shipped", "shippedAt", new Date().toISOString());
  }

  /** Returns the status before: "" when there was no shipment (a tombstone now blocks one). */
  async cancel(orderId: string): Promise<string> {
    return (await this.#scripts.efShipmentCancel(1, this.key(orderId), new Date().toISOString())) as string;
  }

  async get(orderId: string): Promise<Record<string, string>> {
    return this.#redis.hgetall(this.key(orderId));
  }
}
