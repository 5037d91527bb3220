// Per-worker "this event was handled" markers in Redis, so a redelivered duplicate is acknowledged, not redone.
import type { Redis } from "ioredis";

export class ProcessedMarkers {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(redis: Redis, options: { env: string; worker: string; ttlSeconds: number }) {
    this.#redis = redis;
    this.#prefix = `ef:${options.env}:processed:${options.worker}:`;
    this.#ttlSeconds = options.ttlSeconds;
  }

  key(eventId: string): string {
    return this.#prefix + eventId;
  }

  async isProcessed(eventId: string): Promise<boolean> {
    return (await this.#redis.exists(this.key(eventId))) === 1;
  }

  /** Written after the effect: a crash in between redoes the handler, whose effects are idempotent by order id. */
  async markProcessed(eventId: string): Promise<void> {
    await this.#redis.set(this.key(eventId), String(Date.now()), "EX", this.#ttlSeconds);
  }
}
