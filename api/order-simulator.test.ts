import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anyFreePort } from "../dev/stack/ports.ts";
import { withInProcessApi } from "../test/support/in-process-api.ts";
import { outboxLength } from "../test/support/outbox-streams.ts";

const bin = resolve(import.meta.dirname, "../bin/eventfleet.js");

/** Runs `eventfleet simulate orders <args>` to its end. */
async function simulate(...args: string[]) {
  const child = spawn(process.execPath, [bin, "simulate", "orders", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((done) => child.once("exit", done));
  return { code, stdout, stderr };
}

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
        "--outcome-wait",
        "1",
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
    // No worker runs here: the orders stay ACKNOWLEDGED, and the run says what that means.
    assert.match(stdout, /^outcome of the last 20 orders after \d+\.\d s: ACKNOWLEDGED 20$/m);
    assert.match(stdout, /^still ACKNOWLEDGED 20: no inventory worker has taken them yet; is it running/m);
    const placed = await outboxLength(api.redis, api.store.keys);
    assert.equal(placed, 25);
    assert.deepEqual(await api.store.getStock("SKU-APPLE"), {
      sku: "SKU-APPLE",
      available: 1000,
      reserved: 0,
    });
  });

  void test("without --seed-stock on empty stock it warns that the orders will be REJECTED, and how to avoid it", async () => {
    const sku = "SKU-CHERRY";
    await api.store.setAvailable(sku, 0);
    const { code, stderr } = await simulate(
      ...["--count", "2", "--rate", "50", "--api-url", api.url, "--outcome-wait", "0"],
    );
    assert.equal(code, 0, stderr);
    assert.match(stderr, /warning: no stock of .*SKU-CHERRY.*will REJECT .*--seed-stock/);
  });
});

void describe("eventfleet simulate orders says what each failure was", () => {
  const limited = withInProcessApi({ rateLimit: { perSecond: 1, burst: 2 } });

  void test("429: the refusals are explained with the API's limit and what to change", async () => {
    const { stdout } = await simulate(
      ...["--count", "8", "--rate", "200", "--api-url", limited.url, "--outcome-wait", "0"],
    );
    assert.match(
      stdout,
      /^refused 429×\d+: Too Many Requests: .*\(1\/s with bursts of 2: the API's RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST\).*lower --rate \(now 200\/s\)/m,
    );
  });

  void test("an API that does not answer: exit 1 at once, naming ECONNREFUSED and the URL", async () => {
    const port = await anyFreePort();
    const url = `http://127.0.0.1:${port}`;
    const { code, stderr } = await simulate("--count", "5", "--api-url", url);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`cannot reach the API at ${url}: ECONNREFUSED .*is it running\\?`));
  });

  void test("501 answers: each failure is listed with the status and what the API said", async () => {
    // A stand-in for an API build without the orders route: no build of ours answers 501, so a tiny real HTTP server does.
    const server = createServer((_request, response) => {
      response.writeHead(501, { "content-type": "application/problem+json" });
      response.end(
        JSON.stringify({ title: "Not Implemented", status: 501, detail: "orders are not served here" }),
      );
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { code, stdout } = await simulate("--count", "5", "--rate", "100", "--api-url", url);
      assert.equal(code, 1);
      assert.match(stdout, /· failed 5 ·/);
      assert.match(
        stdout,
        /^failed 5×: HTTP 501 Not Implemented: orders are not served here; .*does not implement/m,
      );
    } finally {
      server.close();
    }
  });
});
