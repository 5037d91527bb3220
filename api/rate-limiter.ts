// Per-principal rate limiting: a token bucket in Redis (rate-limit.lua), shared by every API replica, and the
// RateLimit / RateLimit-Policy headers (IETF draft-ietf-httpapi-ratelimit-headers) that describe it.
import { readFileSync } from "node:fs";
import type { RedisClient } from "../shared/redis-connection.ts";
import { redisKeys } from "../shared/redis-keys.ts";

export interface RateLimitDecision {
  allowed: boolean;
  /** When not allowed: seconds until the next request would be (the Retry-After header). */
  retryAfterSeconds: number;
  /** Response headers describing the limit: RateLimit-Policy and RateLimit. */
  headers: Record<string, string>;
}

export interface RateLimiterOptions {
  env: string;
  /** Sustained requests per second per principal; 0 turns limiting off. */
  perSecond: number;
  /** Requests allowed at once on top. */
  burst: number;
}

type BucketCommand = (key: string, rate: number, burst: number) => Promise<[number, number, number, number]>;

/** The policy's name in the RateLimit headers. */
const POLICY = '"per-principal"';

export class RateLimiter {
  readonly #redis: RedisClient;
  readonly #options: RateLimiterOptions;
  readonly #policy: string;

  constructor(redis: RedisClient, options: RateLimiterOptions) {
    this.#redis = redis;
    this.#options = options;
    // A token bucket of `burst` that refills in burst/rate seconds: `burst` requests per that window.
    const window = options.perSecond > 0 ? Math.max(1, Math.ceil(options.burst / options.perSecond)) : 0;
    this.#policy = `${POLICY};q=${options.burst};w=${window}`;
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

  /**
   * Takes a token from the bucket of `principal` (a principal id, or `ip:<address>` for requests that are not
   * authenticated). Throws when Redis fails.
   */
  async take(principal: string): Promise<RateLimitDecision> {
    if (!this.enabled) return { allowed: true, retryAfterSeconds: 0, headers: {} };
    const command = (this.#redis as unknown as { efRateLimit: BucketCommand }).efRateLimit.bind(this.#redis);
    const [allowed, waitMs, remaining, fullInMs] = await command(
      redisKeys(this.#options.env).rateLimit(principal),
      this.#options.perSecond,
      this.#options.burst,
    );
    return {
      allowed: allowed === 1,
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      headers: {
        "RateLimit-Policy": this.#policy,
        // r: requests left now; t: seconds until the bucket is full again (the quota "resets").
        RateLimit: `${POLICY};r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(fullInMs / 1000))}`,
      },
    };
  }
}
