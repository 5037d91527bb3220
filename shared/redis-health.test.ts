import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { pino } from "pino";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { freePort } from "../test/support/ports.ts";
import { waitFor } from "../test/support/wait.ts";
import { ConfigError } from "./config.ts";
import { RedisHealth } from "./redis-health.ts";

/** A logger whose JSON lines land in `lines`. */
function capturing() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe("RedisHealth", () => {
  let server: LocalRedis;
  const clients: Redis[] = [];
  const client = (url: string) => {
    const redis = new Redis(url, { retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    clients.push(redis);
    return redis;
  };

  before(async () => {
    server = await startLocalRedis();
  });
  after(async () => {
    for (const redis of clients) redis.disconnect();
    await server?.stop();
  });

  test("a closed port: readiness names ECONNREFUSED at host:port; one log line, no stack; a reminder later", async () => {
    const port = await freePort();
    const redis = client(`redis://127.0.0.1:${port}`);
    const { logger, lines } = capturing();
    const health = new RedisHealth(redis, logger, { remindEveryMs: 1500 });
    let attempts = 0;
    redis.on("error", () => (attempts += 1));
    await waitFor(() => attempts >= 10, { timeoutMs: 30_000, description: "ten refused connections" });
    await assert.rejects(health.check(), {
      message: new RegExp(
        `^Redis at 127\\.0\\.0\\.1:${port} unreachable: ECONNREFUSED \\(connect ECONNREFUSED`,
      ),
    });
    const outage = lines.filter((l) => String(l.msg).includes("unreachable"));
    assert.ok(
      outage.length >= 1 && outage.length < attempts,
      `${outage.length} lines for ${attempts} attempts`,
    );
    assert.ok(
      lines.every((l) => !("err" in l) && !JSON.stringify(l).includes('"stack"')),
      "no stack traces",
    );
    await waitFor(
      () => lines.some((l) => /still unreachable after \d+ s: ECONNREFUSED/.test(String(l.msg))),
      {
        timeoutMs: 30_000,
        description: "the reminder",
      },
    );
  });

  test("REDIS_URL naming a database the server lacks: verifyDatabase is a ConfigError, readiness stays failed", async () => {
    const redis = client(`${server.url}/99`);
    const { logger } = capturing();
    const health = new RedisHealth(redis, logger);
    await assert.rejects(health.verifyDatabase(), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.variable, "REDIS_URL");
      assert.match(
        error.message,
        /^REDIS_URL: got database 99, which the Redis at .* does not have \(ERR DB index is out of range\)/,
      );
      return true;
    });
    await assert.rejects(health.check(), /got database 99/);
  });

  test("a database the server has passes, and commands go to it", async () => {
    const redis = client(`${server.url}/3`);
    const health = new RedisHealth(redis, capturing().logger);
    await health.verifyDatabase();
    await health.check();
    await redis.set("redis-health-test", "db3");
    const db3 = client(`${server.url}/3`);
    assert.equal(await db3.get("redis-health-test"), "db3");
  });
});
