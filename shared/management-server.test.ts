import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startManagementServer, type ManagementServer } from "./management-server.ts";
import { createMetricsRegistry } from "./metrics.ts";

describe("management server", () => {
  const servers: ManagementServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function start(checks: Parameters<typeof startManagementServer>[0]["checks"]) {
    const server = await startManagementServer({
      role: "test",
      registry: createMetricsRegistry("test"),
      port: 0,
      host: "127.0.0.1",
      ...(checks ? { checks } : {}),
    });
    servers.push(server);
    return server;
  }

  test("/healthz answers alive and /readyz ready when every check passes", async () => {
    const server = await start([{ name: "redis", check: () => undefined }]);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready", role: "test", checks: { redis: "ok" } });
  });

  test("/readyz answers 503 naming the failing check and its error", async () => {
    const server = await start([
      { name: "redis", check: () => undefined },
      {
        name: "sqs",
        check: () => {
          throw new Error("connection refused");
        },
      },
      { name: "slow", check: () => new Promise(() => undefined), timeoutMs: 50 },
    ]);
    const response = await fetch(`${server.url}/readyz`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as { failing: { check: string; error: string }[] };
    assert.deepEqual(body.failing, [
      { check: "sqs", error: "connection refused" },
      { check: "slow", error: "no answer within 50 ms" },
    ]);
  });

  test("after markShuttingDown /readyz fails with check shutdown while /healthz stays alive", async () => {
    const server = await start([]);
    server.markShuttingDown();
    const response = await fetch(`${server.url}/readyz`);
    assert.equal(response.status, 503);
    assert.match(await response.text(), /"check":"shutdown"/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test("/metrics serves default metrics, build info and readiness gauges", async () => {
    const server = await start([
      {
        name: "cosmos",
        check: () => {
          throw new Error("down");
        },
      },
    ]);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^eventfleet_build_info\{version="[^"]+",role="test"\} 1$/m);
    assert.match(text, /^eventfleet_ready\{role="test"\} 0$/m);
    assert.match(text, /^eventfleet_readiness_check_up\{role="test",check="cosmos"\} 0$/m);
  });

  test("unknown paths are 404 and other methods 405", async () => {
    const server = await start([]);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: "POST" })).status, 405);
  });

  test("starting: /readyz fails with check startup until markStarted; firstReady resolves on the first ready answer", async () => {
    let dependencyUp = false;
    const server = await startManagementServer({
      role: "test",
      registry: createMetricsRegistry("test"),
      port: 0,
      host: "127.0.0.1",
      starting: true,
      checks: [
        {
          name: "dependency",
          check: () => {
            if (!dependencyUp) throw new Error("down");
          },
        },
      ],
    });
    servers.push(server);
    let firstReadySeen = false;
    void server.firstReady.then(() => (firstReadySeen = true));
    dependencyUp = true;
    const starting = await fetch(`${server.url}/readyz`);
    assert.equal(starting.status, 503);
    assert.deepEqual(await starting.json(), {
      status: "not ready",
      role: "test",
      failing: [{ check: "startup", error: "starting" }],
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(firstReadySeen, false, "not ready yet");
    server.markStarted();
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    await server.firstReady;
    assert.equal(firstReadySeen, true);
  });
});
