// A Redis client for "Redis is down" tests: it connects on first use to a port nothing listens on, and every
// command fails at once (no retries, no reconnects) instead of hanging.
import { Redis } from "ioredis";

export function unreachableRedis(): Redis {
  const redis = new Redis("redis://127.0.0.1:1", {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined); // the refused connection is the point of these tests
  return redis;
}
