// One delivery of an event at a time: two copies of one event (SNS may deliver twice, to two replicas) must not
// both POST the webhook and both record NOTIFIED. A Redis lease per event id serialises them; the second copy
// then finds the first one's NOTIFIED entry and stops.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { RedisClient } from "../../shared/redis-connection.ts";
import { defineLuaScripts, type ScriptCommand } from "../../shared/lua-scripts.ts";
import { redisKeys, type RedisKeys } from "../../shared/redis-keys.ts";

export class DeliveryLease {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly ttlMs: number;
  readonly #release: ScriptCommand<number>;

  /**
   * `ttlMs` must outlast one delivery (the webhook timeout plus the history write): a lease that expires while
   * its holder still works lets a second delivery start. A crashed holder's lease simply expires.
   */
  constructor(redis: RedisClient, options: { env: string; ttlMs: number }) {
    this.#redis = redis;
    this.#keys = redisKeys(options.env);
    this.ttlMs = options.ttlMs;
    this.#release = (
      defineLuaScripts(redis, import.meta.url, { leaseRelease: "./lease-release.lua" }) as {
        leaseRelease: ScriptCommand<number>;
      }
    ).leaseRelease;
  }

  key(eventId: string): string {
    return this.#keys.notifyLease(eventId);
  }

  /** A token when the lease was free (now ours for ttlMs), undefined when someone else holds it. */
  async acquire(eventId: string): Promise<string | undefined> {
    const token = randomUUID();
    const ok = await this.#redis.set(this.key(eventId), token, "PX", this.ttlMs, "NX");
    return ok === "OK" ? token : undefined;
  }

  /**
   * Waits for the lease (polling while another holder has it) for at most `maxWaitMs`: a copy that waits keeps
   * its message invisible through the runtime's heartbeat instead of spending one of its receives on a retry.
   */
  async acquireWaiting(eventId: string, maxWaitMs: number): Promise<string | undefined> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const token = await this.acquire(eventId);
      if (token !== undefined || Date.now() >= deadline) return token;
      await delay(Math.min(250, Math.max(10, deadline - Date.now())));
    }
  }

  /** Lets the next copy in at once; a lease that expired and was taken by another holder is left alone. */
  async release(eventId: string, token: string): Promise<void> {
    await this.#release(1, this.key(eventId), token);
  }
}
