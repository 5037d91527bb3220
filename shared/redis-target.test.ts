// The Redis configuration contract: REDIS_URL alone is one server; REDIS_CLUSTER_NODES selects a cluster, with
// REDIS_URL's credentials and TLS; contradictions name both variables.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseEnv, redisEnv } from "./config.ts";
import { describeRedisTarget, resolveRedisTarget } from "./redis-target.ts";

const target = (env: Record<string, string>) => resolveRedisTarget(parseEnv(redisEnv, env));

describe("resolveRedisTarget", () => {
  test("REDIS_URL alone is a single Redis, with 16 slot groups by default", () => {
    assert.deepEqual(target({ REDIS_URL: "redis://:pw@redis:6380/2" }), {
      mode: "single",
      url: "redis://:pw@redis:6380/2",
      slotGroups: 16,
    });
  });

  test("REDIS_CLUSTER_NODES selects a cluster; REDIS_URL's user, password and rediss:// apply to every node", () => {
    const resolved = target({
      REDIS_CLUSTER_NODES: " node-a:7000, node-b:7001 ",
      REDIS_URL: "rediss://app:s%40cret@node-a:7000",
      REDIS_SLOT_GROUPS: "32",
    });
    assert.deepEqual(resolved, {
      mode: "cluster",
      nodes: [
        { host: "node-a", port: 7000 },
        { host: "node-b", port: 7001 },
      ],
      auth: { username: "app", password: "s@cret", tls: true },
      slotGroups: 32,
    });
    assert.equal(describeRedisTarget(resolved), "Redis Cluster (seeds node-a:7000,node-b:7001)");
    assert.doesNotMatch(describeRedisTarget(resolved), /cret/);
  });

  test("a cluster without REDIS_URL has no credentials and no TLS", () => {
    assert.deepEqual(target({ REDIS_CLUSTER_NODES: "10.0.0.1:6379" }), {
      mode: "cluster",
      nodes: [{ host: "10.0.0.1", port: 6379 }],
      auth: { tls: false },
      slotGroups: 16,
    });
  });

  test("a database index with REDIS_CLUSTER_NODES is a ConfigError naming both variables", () => {
    assert.throws(
      () => target({ REDIS_CLUSTER_NODES: "node-a:7000", REDIS_URL: "redis://node-a:7000/3" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /REDIS_URL selects database 3 but REDIS_CLUSTER_NODES/.test(error.message),
    );
  });

  test("a REDIS_URL host that is not one of the seeds is a ConfigError naming both variables", () => {
    assert.throws(
      () => target({ REDIS_CLUSTER_NODES: "node-a:7000,node-b:7000", REDIS_URL: "redis://old-redis:6379" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /REDIS_URL names old-redis:6379, which is not one of REDIS_CLUSTER_NODES \(node-a:7000,node-b:7000\)/.test(
          error.message,
        ),
    );
  });

  test("seeds that are not host:port are refused when the configuration is parsed", () => {
    for (const nodes of ["redis://node-a:7000", "node-a", "node-a:7000,,node-b:7000", "node-a:99999"]) {
      assert.throws(
        () => target({ REDIS_CLUSTER_NODES: nodes }),
        (error: unknown) => error instanceof ConfigError && error.variable === "REDIS_CLUSTER_NODES",
        nodes,
      );
    }
  });
});
