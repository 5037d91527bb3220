// Per-principal rate limiting: a token bucket in Redis (rate-limit.lua), shared by every API replica.
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { envPrefix } from "../shared/orders/order-keys.ts";

export interface RateLimitDecision {
  allowed: boolean;
  /** When not allowed: seconds until the next request would be (the Retry-After header). */
  retryAfterSeconds: number;
}

export interface RateLimiterOptions {
  env: string;
  /** Sustained requests per second per principal; 0 turns limiting off. */
  perSecond: number;
  /** Requests allowed at once on top. */
  burst: number;
}

type BucketCommand = (key: string, rate: number, burst: number) => Promise<[number, number]>;

export class RateLimiter {
  readonly #redis: Redis;
  readonly #options: RateLimiterOptions;

  constructor(redis: Redis, options: RateLimiterOptions) {
    this.#redis = redis;
    this.#options = options;
    redis.defineCommand("efRateLimit", {
      numberOfKeys: 1,
      lua: readFileSync(new URL("rate-limit.lua", import.meta.url), "utf8"),
    });
  }

  /** The limit as an operator set it, for telling a refused client what it ran into. */
  get policy(): { perSecond: number; burst: number } {
    return { perSecond: this.#options.perSecond, burst: this.#options.burst };
  }

  get enabled(): boolean {
    return this.#options.perSecond > 0;
  }

  async take(principal: string): Promise<RateLimitDecision> {
    if (!this.enabled) return { allowed: true, retryAfterSeconds: 0 };
    const command = (this.#redis as unknown as { efRateLimit: BucketCommand }).efRateLimit.bind(this.#redis);
    const [allowed, waitMs] = await command(
      `${envPrefix(this.#options.env)}ratelimit:${principal}`,
      this.#options.perSecond,
      this.#options.burst,
    );
    return { allowed: allowed === 1, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
