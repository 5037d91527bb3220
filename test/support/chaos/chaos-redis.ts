// The Redis an order chaos run uses and its faults: one restartable redis-server (restart with AOF on), or a real
// Redis Cluster of this run (a master SIGKILLed and failed over to its replica, a manual CLUSTER FAILOVER, slots
// resharded to another master while orders flow).
import { parseEnv, redisEnv } from "../../../shared/config.ts";
import { createRedisClient, type RedisClient } from "../../../shared/redis-connection.ts";
import { resolveRedisTarget } from "../../../shared/redis-target.ts";
import { LocalRedisCluster } from "../redis-cluster.ts";
import { RestartableRedis } from "../restartable-redis.ts";

/**
 * - `restart`: one Redis, stopped and started again (AOF on).
 * - `kill-master`: the cluster master owning `key`'s slot is SIGKILLed; its replica takes over; the killed node is
 *   started again and rejoins as a replica.
 * - `manual-failover`: CLUSTER FAILOVER on the replica of the master owning `key`'s slot.
 * - `reshard`: every slot of the master owning `key`'s slot moves (with its keys) to another master.
 */
export type RedisFault = "restart" | "kill-master" | "manual-failover" | "reshard";

export interface ChaosRedis {
  readonly mode: "single" | "cluster";
  /** What every role and checker is given: REDIS_URL, or REDIS_CLUSTER_NODES with a seed as REDIS_URL. */
  readonly env: Record<string, string>;
  /** The single server's port (for proxies in front of it); undefined on a cluster. */
  readonly port: number | undefined;
  /** A client for the run's own checks, through the roles' factory (a Redis or a Cluster). */
  client(name: string): RedisClient;
  /** Injects `fault`, around the slot of `key`; returns a line for the fault log. */
  inject(fault: RedisFault, key: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startChaosRedis(mode: "single" | "cluster"): Promise<ChaosRedis> {
  return mode === "cluster" ? clusterRedis() : singleRedis();
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function clientFor(env: Record<string, string>, name: string): RedisClient {
  // "worker": commands queue and retry while the cluster fails over, as the run's checks should.
  const client = createRedisClient(resolveRedisTarget(parseEnv(redisEnv, env)), { name, profile: "worker" });
  // Reconnects by itself after a restart or a failover; the refused connections meanwhile are expected.
  client.on("error", () => undefined);
  return client;
}

async function singleRedis(): Promise<ChaosRedis> {
  const server = new RestartableRedis();
  await server.start();
  const env = { REDIS_URL: server.url };
  return {
    mode: "single",
    env,
    port: server.port,
    client: (name) => clientFor(env, name),
    async inject(fault) {
      if (fault !== "restart") throw new Error(`the ${fault} fault needs a Redis Cluster (mode "cluster")`);
      return `redis (AOF on) down and back in ${seconds(await server.restart())}`;
    },
    stop: () => server.stop(),
  };
}

async function clusterRedis(): Promise<ChaosRedis> {
  const cluster = await LocalRedisCluster.start();
  const env = cluster.env;
  return {
    mode: "cluster",
    env,
    port: undefined,
    client: (name) => clientFor(env, name),
    async inject(fault, key) {
      const master = await cluster.masterOfKey(key);
      if (fault === "kill-master") {
        const result = await cluster.failover(master, "kill");
        const started = performance.now();
        await cluster.restart(master);
        return (
          `master :${master.port} (slots of ${key}) SIGKILLed; replica :${result.promoted} promoted and the ` +
          `cluster healthy after ${seconds(result.durationMs)}; the old master back as a replica ` +
          `${seconds(performance.now() - started)} later`
        );
      }
      if (fault === "manual-failover") {
        const result = await cluster.failover(master, "manual");
        return `CLUSTER FAILOVER: replica :${result.promoted} of :${master.port} master in ${seconds(result.durationMs)}`;
      }
      if (fault === "reshard") {
        const target = (await cluster.masters()).find((m) => m.port !== master.port)!;
        const moved = await cluster.reshard(master, target, master.slotCount);
        return (
          `${moved.slots.length} slots (all of :${master.port}, with ${key}) resharded to :${target.port} in ` +
          seconds(moved.durationMs)
        );
      }
      throw new Error(`a Redis Cluster has no "${fault}" fault here (restart is for a single Redis)`);
    },
    stop: () => cluster.stop(),
  };
}
