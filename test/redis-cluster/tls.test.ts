// A Redis Cluster as ElastiCache and Azure Cache run it (TLS only, AUTH): the roles' own Redis factory reaches every
// master from REDIS_URL (rediss://, the password) + REDIS_CLUSTER_NODES, and an `eventfleet api` process given those
// variables (and the cluster's CA) is ready; a wrong password or a plain redis:// URL is not.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { after, before, test } from "node:test";
import { parseEnv, redisEnv } from "../../shared/config.ts";
import { createRedisClient, type RedisClient } from "../../shared/redis-connection.ts";
import { resolveRedisTarget } from "../../shared/redis-target.ts";
import { freePort } from "../support/ports.ts";
import { LocalRedisCluster } from "../support/redis-cluster.ts";
import { startRole } from "../support/role-process.ts";
import { createTestEnv } from "../support/stack.ts";
import { waitFor } from "../support/wait.ts";

let cluster: LocalRedisCluster;

before(async () => {
  cluster = await LocalRedisCluster.start({ tls: true, password: "s3cret/with:chars" });
  // This process trusts the cluster's CA as a role does through NODE_EXTRA_CA_CERTS.
  setDefaultCACertificates([...getCACertificates("default"), readFileSync(cluster.caFile!, "utf8")]);
});

after(async () => {
  await cluster?.stop();
});

function factoryClient(env: Record<string, string>): RedisClient {
  const target = resolveRedisTarget(parseEnv(redisEnv, env));
  const client = createRedisClient(target, { name: "tls-test", profile: "request" });
  client.on("error", () => undefined);
  return client;
}

test("the roles' factory reaches a TLS + AUTH cluster from rediss:// REDIS_URL and REDIS_CLUSTER_NODES, on every master", async () => {
  assert.match(cluster.env.REDIS_URL!, /^rediss:\/\/:s3cret%2Fwith%3Achars@127\.0\.0\.1:\d+$/);
  const client = factoryClient(cluster.env);
  try {
    await waitFor(async () => (await client.ping()) === "PONG", { timeoutMs: 30_000, description: "PONG" });
    const keys = Array.from({ length: 60 }, (_, i) => `tls-check:${i}`);
    for (const key of keys) await client.set(key, key);
    assert.deepEqual(await Promise.all(keys.map((key) => client.get(key))), keys);
    const owners = new Set<number>();
    for (const key of keys.slice(0, 30)) owners.add((await cluster.masterOfKey(key)).port);
    assert.equal(owners.size, 3, "the keys live on all three masters");
  } finally {
    client.disconnect();
  }
});

test("a wrong password or a plain redis:// URL does not get through", async () => {
  for (const url of [
    cluster.env.REDIS_URL!.replace("s3cret", "wrong"),
    cluster.env.REDIS_URL!.replace("rediss://", "redis://"),
  ]) {
    const client = factoryClient({ ...cluster.env, REDIS_URL: url });
    try {
      await assert.rejects(client.ping(), `${url.replace(/:[^:@]*@/, ":***@")} must not reach the cluster`);
    } finally {
      client.disconnect();
    }
  }
});

test("eventfleet api given the cluster's REDIS_URL, REDIS_CLUSTER_NODES and CA is ready", async () => {
  const env = await createTestEnv({ aws: true });
  const api = await startRole(["api", "--relay=off"], {
    ...env,
    ...cluster.env,
    API_PORT: String(await freePort()),
  });
  try {
    await api.waitReady(60_000);
  } finally {
    await api.stop();
  }
});
