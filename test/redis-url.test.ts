// A wrong REDIS_URL, as a newcomer types it: the process says what is wrong instead of a misleading or silent state.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startLocalRedis, type LocalRedis } from "./support/local-redis.ts";
import { freePort } from "./support/ports.ts";
import { ROOT } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

function start(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [join(ROOT, "bin/eventfleet.js"), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

// Nothing listens on these: the roles must fail on Redis before they would use them.
const orderEnv = {
  AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  ORDERS_TOPIC_ARN: "arn:aws:sns:us-east-1:000000000000:redis-url-test-orders",
  INVENTORY_QUEUE_URL: "http://127.0.0.1:9/000000000000/redis-url-test-inventory",
  INVENTORY_DLQ_URL: "http://127.0.0.1:9/000000000000/redis-url-test-inventory-dlq",
};

describe("a wrong REDIS_URL", () => {
  let redis: LocalRedis;
  before(async () => {
    redis = await startLocalRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  for (const role of [["api"], ["relay"], ["worker", "inventory"]]) {
    test(`a database index the server lacks: eventfleet ${role.join(" ")} exits 2 naming REDIS_URL`, async () => {
      const proc = start(role, {
        ...orderEnv,
        REDIS_URL: `${redis.url}/99`,
        MANAGEMENT_PORT: "0",
        API_PORT: "0",
      });
      assert.equal(await proc.exited, 2, proc.output().stderr);
      assert.match(
        proc.output().stderr,
        /^eventfleet: configuration error: REDIS_URL: got database 99, which the Redis at 127\.0\.0\.1:\d+ does not have/m,
      );
      assert.doesNotMatch(proc.output().stdout, /order API listening/);
    });
  }

  for (const role of [["api"], ["relay"], ["worker", "inventory"]]) {
    test(`REDIS_CLUSTER_NODES with a REDIS_URL database: eventfleet ${role.join(" ")} exits 2 naming both`, async () => {
      const proc = start(role, {
        ...orderEnv,
        REDIS_CLUSTER_NODES: "127.0.0.1:9",
        REDIS_URL: "redis://127.0.0.1:9/1",
        MANAGEMENT_PORT: "0",
        API_PORT: "0",
      });
      assert.equal(await proc.exited, 2, proc.output().stderr);
      assert.match(
        proc.output().stderr,
        /^eventfleet: configuration error: REDIS_URL selects database 1 but REDIS_CLUSTER_NODES selects Redis Cluster/m,
      );
    });
  }

  test("a closed port: /readyz names ECONNREFUSED at host:port, and the log says it without a stack per retry", async () => {
    const [redisPort, managementPort] = await Promise.all([freePort(), freePort()]);
    const proc = start(["api"], {
      ...orderEnv,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      MANAGEMENT_PORT: String(managementPort),
      API_PORT: "0",
    });
    try {
      const readyz = async () => {
        const response = await fetch(`http://127.0.0.1:${managementPort}/readyz`);
        return { status: response.status, body: await response.text() };
      };
      await waitFor(async () => (await readyz().catch(() => undefined))?.status === 503, {
        timeoutMs: 30_000,
        description: "/readyz answering 503",
      });
      // The connection retries every 2 s at most and the relay loop backs off and retries: watch a few rounds.
      const watchedFrom = Date.now();
      await waitFor(() => Date.now() - watchedFrom > 8000, {
        timeoutMs: 20_000,
        description: "8 s of retries",
      });
      const { status, body } = await readyz();
      assert.equal(status, 503);
      assert.match(body, new RegExp(`Redis at 127\\.0\\.0\\.1:${redisPort} unreachable: ECONNREFUSED`));
      assert.doesNotMatch(body, /Stream isn't writeable/);

      const lines = proc.output().stdout.trim().split("\n");
      const outage = lines.filter((line) => line.includes("unreachable"));
      // One line per connection (the API's and its relay's), not one per retry.
      assert.ok(outage.length >= 1 && outage.length <= 2, outage.join("\n"));
      assert.ok(
        !lines.some((line) => line.includes('"stack"')),
        `a stack trace was logged:\n${lines.join("\n")}`,
      );
    } finally {
      proc.child.kill("SIGTERM");
      await proc.exited;
    }
  });
});
