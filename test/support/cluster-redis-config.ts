// The eventfleet Redis configuration of a test Redis Cluster (test/support/redis-cluster.ts): REDIS_CLUSTER_NODES
// and, for credentials, REDIS_URL naming the first seed, as an operator would set them.
import { parseEnv, redisEnv } from "../../shared/config.ts";
import { createRedisClient, type RedisClient } from "../../shared/redis-connection.ts";
import { resolveRedisTarget, type RedisConfig } from "../../shared/redis-target.ts";
import type { LocalRedisCluster } from "./redis-cluster.ts";

/** The variables a role gets to use the cluster. */
export function clusterRedisEnv(cluster: LocalRedisCluster): Record<string, string> {
  const [first] = cluster.seeds.split(",");
  const auth = cluster.password ? `:${encodeURIComponent(cluster.password)}@` : "";
  return { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_URL: `redis://${auth}${first}` };
}

export function clusterRedisConfig(cluster: LocalRedisCluster): RedisConfig {
  return parseEnv(redisEnv, clusterRedisEnv(cluster));
}

/** A cluster client built by the roles' own factory (worker profile: commands wait for a failover). */
export function clusterClient(cluster: LocalRedisCluster, name = "test"): RedisClient {
  const client = createRedisClient(resolveRedisTarget(clusterRedisConfig(cluster)), {
    name,
    profile: "worker",
  });
  client.on("error", () => undefined);
  return client;
}
