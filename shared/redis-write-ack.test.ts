// REDIS_WRITE_REPLICAS / REDIS_WRITE_TIMEOUT_MS: their defaults per Redis mode and their checks; and, on a real single
// Redis without a replica, that the default sends no WAIT at all while REDIS_WRITE_REPLICAS=1 refuses to
// acknowledge (503), as no replica can confirm. The cluster side: test/redis-cluster/write-ack.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { ConfigError, parseEnv, redisWriteEnv } from "./config.ts";
import { resolveWriteAck } from "./redis-write-ack.ts";
import { startInProcessApi, type InProcessApi } from "../test/support/in-process-api.ts";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { validOrder } from "../test/support/sample-order.ts";

const resolve = (env: Record<string, string>, mode: "single" | "cluster") =>
  resolveWriteAck(parseEnv(redisWriteEnv, env), { mode });

describe("resolveWriteAck", () => {
  test("unset, one replica must confirm on a cluster and none on a single Redis; the timeout defaults to 500 ms", () => {
    assert.deepEqual(resolve({}, "cluster"), { replicas: 1, timeoutMs: 500 });
    assert.deepEqual(resolve({}, "single"), { replicas: 0, timeoutMs: 500 });
  });

  test("set, the values apply in either mode (0 turns waiting off on a cluster)", () => {
    assert.deepEqual(resolve({ REDIS_WRITE_REPLICAS: "0" }, "cluster"), { replicas: 0, timeoutMs: 500 });
    assert.deepEqual(resolve({ REDIS_WRITE_REPLICAS: "2", REDIS_WRITE_TIMEOUT_MS: "250" }, "single"), {
      replicas: 2,
      timeoutMs: 250,
    });
  });

  test("a timeout the API's Redis command timeout would cut off is refused, naming the variable and the fix", () => {
    assert.throws(
      () => resolve({ REDIS_WRITE_TIMEOUT_MS: "2000" }, "cluster"),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === "REDIS_WRITE_TIMEOUT_MS" &&
        /expected less than 2000 ms.*lower it/.test(error.message),
    );
  });

  test("a negative or non-numeric replica count is refused with what is expected", () => {
    for (const value of ["-1", "one", "17"]) {
      assert.throws(
        () => parseEnv(redisWriteEnv, { REDIS_WRITE_REPLICAS: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === "REDIS_WRITE_REPLICAS" &&
          error.message.includes("expected a number of replicas 0-16"),
      );
    }
  });
});

describe("write acknowledgement on a single Redis without a replica", () => {
  let redis: LocalRedis;
  let probe: Redis;
  const apis: InProcessApi[] = [];

  before(async () => {
    redis = await startLocalRedis();
    probe = new Redis(redis.url);
  });
  after(async () => {
    await Promise.all(apis.map((api) => api.close()));
    probe?.disconnect();
    await redis?.stop();
  });

  /** How often WAIT ran on the server (INFO commandstats). */
  const waitCalls = async (): Promise<number> => {
    const stats = await probe.info("commandstats");
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  };

  const place = async (api: InProcessApi) => {
    const response = await fetch(`${api.url}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: JSON.stringify(validOrder()),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test("by default an order is acknowledged without any WAIT", async () => {
    const api = await startInProcessApi({ redisUrl: redis.url });
    apis.push(api);
    const before = await waitCalls();
    const answer = await place(api);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(await waitCalls(), before);
  });

  test("with REDIS_WRITE_REPLICAS=1 the order waits for a replica there is not and is answered 503", async () => {
    const api = await startInProcessApi({
      redisVariables: { REDIS_URL: redis.url, REDIS_WRITE_REPLICAS: "1", REDIS_WRITE_TIMEOUT_MS: "100" },
    });
    apis.push(api);
    const before = await waitCalls();
    const answer = await place(api);
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.body.type, "https://eventfleet.dev/problems/write-not-acknowledged");
    assert.equal(await waitCalls(), before + 1);
  });
});
