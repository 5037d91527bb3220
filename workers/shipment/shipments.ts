// One shipment per order (carrier, tracking number): chosen here, written by the ship step (shared/orders/saga-ship.lua).
import { randomInt, randomUUID } from "node:crypto";
import { slotGroupsOf, type RedisClient } from "../../shared/redis-connection.ts";
import type { ShipmentDetail } from "../../shared/orders/saga-steps.ts";
import { redisKeys, type RedisKeys } from "../../shared/redis-keys.ts";

export interface Shipment extends ShipmentDetail {
  status: "created" | "cancelled" | "shipped";
}

/** Carrier by destination: a stand-in for a real carrier choice. */
export function carrierFor(country: string): string {
  return ["DE", "AT", "CH", "NL", "BE", "FR"].includes(country) ? "DHL" : "UPS";
}

function trackingNumber(carrier: string): string {
  const digits = Array.from({ length: 12 }, () => randomInt(10)).join("");
  return `${carrier === "UPS" ? "1Z" : "JJD"}${digits}`;
}

/** A new shipment to a country; the ship step keeps the one an earlier attempt recorded instead, if any. */
export function newShipment(country: string): ShipmentDetail {
  const carrier = carrierFor(country);
  return { shipmentId: randomUUID(), carrier, trackingNumber: trackingNumber(carrier) };
}

/** Reads shipments (tests, chaos invariants, operators). */
export class Shipments {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(redis: RedisClient, options: { env: string; slotGroups?: number }) {
    this.#redis = redis;
    this.#keys = redisKeys(options.env, { slotGroups: options.slotGroups ?? slotGroupsOf(redis) });
  }

  key(orderId: string): string {
    return this.#keys.shipment(orderId);
  }

  async get(orderId: string): Promise<Record<string, string>> {
    return this.#redis.hgetall(this.key(orderId));
  }
}
