// The API's and relay's Redis connection: fails fast while Redis is down (503s, not hung requests) and reconnects.
import { Redis } from "ioredis";
import type { Logger } from "../shared/logger.ts";
import { RedisHealth } from "../shared/redis-health.ts";
import { warnAboutRedisSettings } from "../shared/redis-settings.ts";

/** A connection that also says why it is down (readiness) and checks REDIS_URL's database index at start. */
export type WatchedRedis = Redis & { readonly health: RedisHealth };

export function connectRedis(url: string, logger: Logger, name: string): WatchedRedis {
  const redis = new Redis(url, {
    connectionName: name,
    // While disconnected, commands fail at once instead of queueing: callers answer 503 and move on.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A Redis that accepts connections but does not answer must not hold requests forever.
    commandTimeout: 2000,
    connectTimeout: 3000,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    // Concurrent requests' commands go out in one write per event-loop tick (fewer syscalls under load).
    enableAutoPipelining: true,
  });
  // Once connected: say if Redis is not run as eventfleet requires (persistence, noeviction, a replica).
  redis.once("ready", () => void warnAboutRedisSettings(redis, logger));
  // The health watcher logs outages (one line, then a reminder a minute at most) and recoveries.
  return Object.assign(redis, { health: new RedisHealth(redis, logger) });
}
