import { spawn } from "node:child_process";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { withInProcessApi } from "./test-support/in-process-api.ts";

const bin = resolve(import.meta.dirname, "../bin/eventfleet.js");

void describe("eventfleet simulate orders", () => {
  const api = withInProcessApi();

  void test("places --count orders at --rate through the API, seeds stock, reports progress and totals", async () => {
    const child = spawn(
      process.execPath,
      [
        bin,
        "simulate",
        "orders",
        "--count",
        "25",
        "--rate",
        "100",
        "--api-url",
        api.url,
        "--seed-stock",
        "1000",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /orders 25\/25 · accepted 25 · refused 0 · failed 0/);
    assert.match(stdout, /last order: curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/orders\/[0-9a-f-]{36}/);
    assert.match(stderr, /seeded 1000 units/);
    const placed = await api.redis.xlen(api.store.keys.outbox);
    assert.equal(placed, 25);
    assert.deepEqual(await api.store.getStock("SKU-APPLE"), {
      sku: "SKU-APPLE",
      available: 1000,
      reserved: 0,
    });
  });
});
