// The roles' Redis connection on a real Redis Cluster with AUTH (as ElastiCache and Azure Cache run it), built from
// REDIS_CLUSTER_NODES + REDIS_URL's credentials: readiness checks cluster_state, the settings check reads every
// master (a misconfigured one is named by its address), and a REDIS_URL without the password never becomes ready.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Cluster } from "ioredis";
import { pino } from "pino";
import { parseEnv, redisEnv } from "../../shared/config.ts";
import { connectRedis, type WatchedRedis } from "../../shared/redis-connection.ts";
import { readRedisSettings } from "../../shared/redis-settings.ts";
import { clusterRedisEnv } from "../support/cluster-redis-config.ts";
import { LocalRedisCluster } from "../support/redis-cluster.ts";
import { waitFor } from "../support/wait.ts";

const logger = pino({ level: "silent" });

describe("the roles' connection to a Redis Cluster with AUTH", () => {
  let cluster: LocalRedisCluster;
  const connections: WatchedRedis[] = [];
  const connect = (env: Record<string, string>) => {
    const redis = connectRedis(parseEnv(redisEnv, env), logger, {
      name: "connection-test",
      profile: "request",
    });
    connections.push(redis);
    return redis;
  };

  before(async () => {
    cluster = await LocalRedisCluster.start({ password: "s3cret-pass" });
  });
  after(async () => {
    for (const redis of connections) redis.disconnect();
    await cluster?.stop();
  });

  test("with REDIS_URL's password: ready, cluster_state ok, database 0, every master's settings read", async () => {
    const redis = connect(clusterRedisEnv(cluster));
    assert.equal(redis.target.mode, "cluster");
    await waitFor(
      async () =>
        redis.health.check().then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 30_000,
        description: "readiness of the cluster connection",
      },
    );
    await redis.health.verifyDatabase();
    assert.equal(redis.health.database, 0);
    assert.deepEqual(await readRedisSettings(redis), { problems: [], unknown: [] });

    // One master with an evicting policy: the settings check names that master, and only it.
    const [master] = await cluster.masters();
    const node = (redis as Cluster).nodes("master").find((n) => n.options.port === master!.port)!;
    await node.config("SET", "maxmemory-policy", "allkeys-lru");
    try {
      const report = await readRedisSettings(redis);
      assert.equal(report.problems.length, 1, JSON.stringify(report));
      assert.match(
        report.problems[0]!,
        new RegExp(`^127\\.0\\.0\\.1:${master!.port}: maxmemory-policy is allkeys-lru`),
      );
    } finally {
      await node.config("SET", "maxmemory-policy", "noeviction");
    }
  });

  test("without the password: never ready, and readiness names the cause", async () => {
    const { REDIS_CLUSTER_NODES } = clusterRedisEnv(cluster);
    const redis = connect({ REDIS_CLUSTER_NODES: REDIS_CLUSTER_NODES! });
    let reason = "";
    await waitFor(
      async () =>
        redis.health.check().then(
          () => false,
          (error: Error) => ((reason = error.message), /unreachable/.test(reason)),
        ),
      { timeoutMs: 20_000, description: "readiness failing with the cause of the outage" },
    );
    assert.match(reason, /^Redis Cluster \(seeds [\d.:,]+\) unreachable: .*NOAUTH/);
    assert.notEqual(redis.status, "ready");
  });
});
