// Every role's Redis connection is built here, from the configuration: a single Redis (ioredis Redis) or a Redis
// Cluster (ioredis Cluster), watched for outages and checked at start (database index, settings). The code above
// this file uses the same keys and scripts on both (shared/redis-keys.ts puts each script's keys in one slot).
import { Cluster, Redis } from "ioredis";
import type { Logger } from "./logger.ts";
import { RedisHealth } from "./redis-health.ts";
import { DEFAULT_SLOT_GROUPS } from "./redis-keys.ts";
import { warnAboutRedisSettings } from "./redis-settings.ts";
import {
  describeRedisTarget,
  resolveRedisTarget,
  type RedisConfig,
  type RedisTarget,
} from "./redis-target.ts";

/** A single Redis or a Redis Cluster: every command eventfleet sends works on both. */
export type RedisClient = Redis | Cluster;

/** A connection that also says why it is down (readiness) and checks the configured database at start. */
export type WatchedRedis = RedisClient & { readonly health: RedisHealth; readonly target: RedisTarget };

/**
 * How a role's commands behave while Redis is away, each profile with why:
 * - `request` (API, relay): fail at once (the API answers 503 and moves on; the relay retries with its backoff).
 * - `worker` (SQS workers): queue briefly and retry twice; a failed message is retried later by SQS anyway.
 */
export const REDIS_PROFILES = {
  request: {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A Redis that accepts connections but does not answer must not hold requests forever.
    commandTimeout: 2000,
  },
  worker: {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 2,
    // A command that never gets an answer must fail the handler (SQS retries the message): after a master of a
    // Redis Cluster was SIGKILLed, a worker's command could wait forever and the worker took no more messages
    // (test/redis-cluster/failover.test.ts, 2 of 3 runs beside each other on a loaded machine).
    commandTimeout: 5000,
  },
} as const;

export type RedisProfile = keyof typeof REDIS_PROFILES;

const CONNECT_TIMEOUT_MS = 3000;
const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 2000);

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** The client only, unwatched: for the factory below and for tools and tests that need a plain connection. */
export function createRedisClient(
  target: RedisTarget,
  options: { name: string; profile: RedisProfile },
): RedisClient {
  const profile = REDIS_PROFILES[options.profile];
  const perConnection = {
    connectionName: options.name,
    maxRetriesPerRequest: profile.maxRetriesPerRequest,
    connectTimeout: CONNECT_TIMEOUT_MS,
    ...(profile.commandTimeout ? { commandTimeout: profile.commandTimeout } : {}),
  };
  if (target.mode === "single") {
    return new Redis(target.url, {
      ...perConnection,
      enableOfflineQueue: profile.enableOfflineQueue,
      retryStrategy: reconnectDelay,
      // Concurrent requests' commands go out in one write per event-loop tick (fewer syscalls under load).
      enableAutoPipelining: true,
    });
  }
  return new Cluster(target.nodes, {
    redisOptions: {
      ...perConnection,
      ...(target.auth.username ? { username: target.auth.username } : {}),
      ...(target.auth.password ? { password: target.auth.password } : {}),
      ...(target.auth.tls ? { tls: {} } : {}),
    },
    // TLS certificates name the host, not its address (ElastiCache, Azure): connect by name.
    ...(target.auth.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    enableOfflineQueue: profile.enableOfflineQueue,
    clusterRetryStrategy: reconnectDelay,
    // A failed-over or restarted master comes back: reconnect to it instead of waiting for a MOVED.
    clusterNodeRetryStrategy: reconnectDelay,
    // No autopipelining on a cluster: ioredis retries a pipeline on MOVED/ASK only when every command got the same
    // redirection, so a per-node pipeline of several slots handed MOVED to the caller after a failover, again and
    // again (the notification worker dead-lettered messages on "MOVED 10877 ...": test/redis-cluster/failover.test.ts).
    enableAutoPipelining: false,
    // During a failover the cluster answers CLUSTERDOWN or drops connections for a few seconds: wait, then retry.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2000,
  });
}

/**
 * The connection of a role: a single Redis (REDIS_URL) or a cluster (REDIS_CLUSTER_NODES), with its health watcher
 * (logs outages once, readiness says why) and, once connected, a warning when Redis is not run as eventfleet
 * requires. Throws a ConfigError when REDIS_URL and REDIS_CLUSTER_NODES contradict each other.
 */
export function connectRedis(
  config: RedisConfig,
  logger: Logger,
  options: { name: string; profile: RedisProfile },
): WatchedRedis {
  const target = resolveRedisTarget(config);
  const redis = createRedisClient(target, options);
  redis.once("ready", () => void warnAboutRedisSettings(redis, logger));
  const health = new RedisHealth(redis, logger, { where: describeRedisTarget(target) });
  return Object.assign(redis, { health, target });
}

/**
 * Another connection like `redis` (same target, options and credentials) with its own command timeout: for a
 * blocking reader such as the relay's XREADGROUP BLOCK, which must not share a connection with other commands.
 * `enableOfflineQueue`: commands sent before it is connected wait for the connection (within the command timeout)
 * instead of failing; default as `redis`.
 */
export function duplicateClient(
  redis: RedisClient,
  options: { commandTimeout: number; enableOfflineQueue?: boolean },
): RedisClient {
  const offline =
    options.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: options.enableOfflineQueue };
  if (redis instanceof Cluster) {
    return redis.duplicate(undefined, {
      ...offline,
      redisOptions: { ...redis.options.redisOptions, commandTimeout: options.commandTimeout },
    });
  }
  return redis.duplicate({ commandTimeout: options.commandTimeout, ...offline });
}

/**
 * REDIS_SLOT_GROUPS of the connection's configuration (shared/redis-keys.ts), so that every component built on a
 * role's connection places keys alike; a plain client (tools, tests) has the default.
 */
export function slotGroupsOf(redis: RedisClient): number {
  return (redis as unknown as Partial<WatchedRedis>).target?.slotGroups ?? DEFAULT_SLOT_GROUPS;
}
