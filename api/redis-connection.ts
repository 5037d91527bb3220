// The API's and relay's Redis connection: fails fast while Redis is down (503s, not hung requests) and reconnects.
import { Redis } from "ioredis";
import type { Logger } from "../shared/logger.ts";

export function connectRedis(url: string, logger: Logger, name: string): Redis {
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
  let down = false;
  redis.on("error", (error: Error) => {
    if (!down) logger.warn({ err: error }, `Redis unreachable (${error.message}); reconnecting`);
    down = true;
  });
  redis.on("ready", () => {
    if (down) logger.info("Redis reachable again");
    down = false;
  });
  return redis;
}
