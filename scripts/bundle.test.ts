// The image's bundle (scripts/bundle.ts) runs the same roles as the sources: the order saga end to end with every
// order role from the bundle (its Lua scripts found beside the chunks' source paths), tracing on, device-ingest ready.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify, stripVTControlCharacters } from "node:util";
import { startEventHubsEmulator } from "../dev/eventhubs-emulator/index.ts";
import { compileCacheVerdicts } from "../test/support/compile-cache-log.ts";
import { CONSUMER_GROUP, HUB } from "../test/support/device-fixture.ts";
import { TestJaeger, describeTrace, orphans, serviceOf, type JaegerTrace } from "../test/support/jaeger.ts";
import { placedEvent } from "../test/support/order-event-fixtures.ts";
import { ROOT, RoleRunner } from "../test/support/role-runner.ts";
import { freePort } from "../test/support/ports.ts";
import { SagaDriver, TestWebhook } from "../test/support/saga-stack.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { bundle } from "./bundle.ts";
import { IMAGE_NODE_OPTIONS } from "./image-node-options.ts";

const READY_WITHIN_MS = 90_000;

void describe("the bundled CLI (dist/eventfleet.js, what the image runs)", () => {
  const outdir = join(ROOT, ".eventfleet", `bundle-test-${randomUUID().slice(0, 8)}`);
  let entry = "";
  const runners: RoleRunner[] = [];

  before(async () => {
    ({ entry } = await bundle(outdir));
  });
  after(async () => {
    await Promise.all(runners.map((r) => r.stop("SIGTERM", 20_000)));
    rmSync(outdir, { recursive: true, force: true });
  });

  const startRole = async (args: string[], env: Record<string, string>, extraNodeOptions = "") => {
    // As the image runs them (its Dockerfile sets these NODE_OPTIONS).
    const runner = new RoleRunner({
      name: args.join(" "),
      args,
      env: { ...env, NODE_OPTIONS: `${IMAGE_NODE_OPTIONS} ${extraNodeOptions}`.trim() },
      entry,
    });
    runners.push(runner);
    await runner.start();
    await runner.waitReady(READY_WITHIN_MS);
    return runner;
  };

  void test("--help lists the roles", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [entry, "--help"]);
    for (const role of ["api", "relay", "worker"]) assert.match(stdout, new RegExp(`\\n\\s+${role}\\b`));
  });

  void test("a fresh process runs the role's chunks from the compile cache the bundle step filled", async () => {
    // No configuration: the role loads its code, then stops at the first missing variable (exit 2).
    const run = await promisify(execFile)(process.execPath, [entry, "worker", "inventory"], {
      env: { PATH: process.env.PATH ?? "", NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
    }).catch((error: unknown) => error as { code: number; stderr: string });
    assert.equal("code" in run ? run.code : 0, 2, run.stderr);
    const { accepted, compiled, lines } = compileCacheVerdicts(run.stderr, dirname(entry));
    assert.deepEqual(compiled, [], `every chunk but cli.js from the cache:\n${lines.join("\n")}`);
    assert.ok(
      accepted.some((name) => /^main-\w+\.js$/.test(name)),
      `the worker's own chunk is among those from the cache:\n${lines.join("\n")}`,
    );
    assert.ok(accepted.length >= 10, `${accepted.length} chunks from the cache:\n${lines.join("\n")}`);
  });

  /** The bundle's JavaScript chunks, by file name, with their text. */
  const chunkTexts = () =>
    readdirSync(outdir)
      .filter((name) => name.endsWith(".js"))
      .map((name) => ({ name, text: readFileSync(join(outdir, name), "utf8") }));

  void test("ioredis defines its command methods on a dictionary-mode prototype (not quadratically)", () => {
    const patched = chunkTexts()
      .filter(({ text }) => text.includes("delete Commander.prototype.__dictionaryModeA"))
      .map(({ name }) => name);
    assert.equal(patched.length, 1, `chunks with ioredis' patched Commander: ${patched.join(", ")}`);
  });

  void test("iconv-lite's code tables are files beside the chunks, where the chunks require them from", () => {
    const required = chunkTexts().flatMap(({ name, text }) =>
      [...text.matchAll(/__require\("(\.\/iconv-lite-tables\/[\w-]+\.json)"\)/g)].map((match) => ({
        chunk: name,
        path: match[1]!,
      })),
    );
    assert.ok(required.length >= 8, `${required.length} tables required by the chunks`);
    for (const { chunk, path } of required) {
      const table = createRequire(join(outdir, chunk))(path) as object;
      assert.ok(Object.keys(table).length > 0, `${path} from ${chunk}`);
    }
  });

  void test("api (with its relay) and the three order workers from the bundle take a placed order to SHIPPED", async () => {
    const webhook = new TestWebhook();
    await webhook.start();
    const env = await createTestEnv({ aws: true });
    const driver = new SagaDriver(env);
    try {
      const workerEnv = { ...env, NOTIFY_WEBHOOK_URL: webhook.url, NOTIFY_WEBHOOK_SECRET: webhook.secret };
      await Promise.all([
        startRole(["api"], { ...env, API_PORT: "0" }),
        ...["inventory", "shipment", "notification"].map((name) => startRole(["worker", name], workerEnv)),
      ]);
      const sku = `SKU-${randomUUID().slice(0, 8)}`;
      await driver.store.setAvailable(sku, 5);
      const event = placedEvent({ items: [{ sku, quantity: 2, unitPriceCents: 100 }], totalCents: 200 });
      // Written as the API writes it: the order and its event in the outbox, which the api's relay publishes.
      await driver.store.createOrder({ order: event.data, event });
      await waitFor(async () => (await driver.status(event.data.orderId)) === "SHIPPED", {
        timeoutMs: 60_000,
        intervalMs: 100,
        description: `order ${event.data.orderId} SHIPPED by the bundled roles`,
      });
      await waitFor(() => webhook.delivered(event.data.orderId).length === 2, {
        timeoutMs: 60_000,
        intervalMs: 100,
        description: "placed and shipped notifications",
      });
      assert.deepEqual(await driver.store.getStock(sku), { sku, available: 3, reserved: 0 });
    } finally {
      await driver.stop();
      await webhook.stop();
    }
  });

  void test("in a terminal the bundled relay logs pretty lines: pino bundled, pino-pretty required from node_modules", async () => {
    const env = await createTestEnv({ aws: true });
    // `script` gives the role a pseudo-terminal for stdout, as `docker run -it` or `kubectl run -it` would.
    const command = [process.execPath, entry, "relay"].map((a) => `'${a}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: {
        ...process.env,
        ...env,
        LOG_LEVEL: "info",
        MANAGEMENT_PORT: String(await freePort()),
        NODE_OPTIONS: IMAGE_NODE_OPTIONS,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const plain = (text: string) => stripVTControlCharacters(text);
      await waitFor(() => plain(output).includes("relay started"), {
        timeoutMs: READY_WITHIN_MS,
        description: "the relay's start line",
      }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; the terminal showed:\n${output}`);
      });
      assert.match(
        plain(output),
        /\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): relay started\r?\n\s+role: "relay"/,
      );
      assert.doesNotMatch(output, /"level":30/, "no JSON lines in a terminal");
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });

  void test("with tracing on (an OTLP endpoint set) the bundled relay loads its instrumentations and is ready", async () => {
    const env = await createTestEnv({ aws: true });
    // Nothing listens there: the exporter's failures are logged, the role works on.
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const runner = await startRole(["relay"], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    await runner.stop("SIGTERM", 20_000);
    assert.equal((await runner.exited).code, 0, runner.tail());
  });

  void test("with tracing on, the bundled api and inventory worker export one trace: POST → create → send → process", async () => {
    const jaeger = await TestJaeger.start();
    try {
      const env = { ...(await createTestEnv({ aws: true })), ...jaeger.otelEnv };
      const apiPort = await freePort();
      await Promise.all([
        startRole(["api"], { ...env, API_PORT: String(apiPort) }),
        startRole(["worker", "inventory"], env),
      ]);
      const api = `http://127.0.0.1:${apiPort}`;
      const sku = `BUNDLE-${randomUUID().slice(0, 8)}`;
      const json = { "content-type": "application/json" };
      const stocked = await fetch(`${api}/v1/inventory/${sku}`, {
        method: "PUT",
        headers: json,
        body: JSON.stringify({ available: 5 }),
      });
      assert.equal(stocked.status, 200, await stocked.text());
      const placed = await fetch(`${api}/v1/orders`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({
          customerId: "customer-bundle",
          items: [{ sku, quantity: 1, unitPriceCents: 100 }],
          currency: "EUR",
          shippingAddress: {
            name: "Ada",
            line1: "1 Loop St",
            city: "London",
            postalCode: "N1",
            country: "GB",
          },
          contact: { email: "ada@example.com" },
        }),
      });
      const order = (await placed.json()) as { id: string };
      assert.equal(placed.status, 202, JSON.stringify(order));
      // zod's English messages (the bundle keeps zod's `en` locale only), as the sources answer.
      const invalid = await fetch(`${api}/v1/orders`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ customerId: 5 }),
      });
      const problem = (await invalid.json()) as { errors?: { path: string; message: string }[] };
      assert.equal(invalid.status, 400);
      assert.deepEqual(
        problem.errors?.find((e) => e.path === "customerId"),
        { path: "customerId", message: "Invalid input: expected string, received number" },
        JSON.stringify(problem),
      );
      const [found] = await waitFor(
        async () => {
          const traces = await jaeger.findTraces("eventfleet-api", { "eventfleet.order_id": order.id });
          return traces.length > 0 ? traces : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500, description: `a trace of order ${order.id} in Jaeger` },
      );
      const processed = (t: JaegerTrace) =>
        t.spans.some(
          (s) => s.operationName.startsWith("process ") && serviceOf(t, s) === "eventfleet-inventory",
        );
      const trace = await jaeger.waitForTrace(
        found!.traceID,
        (t) => processed(t) && orphans(t).length === 0,
        "the inventory worker's process span in the order's trace",
        90_000,
      );
      const tree = describeTrace(trace);
      const operations = new Set(trace.spans.map((s) => `${serviceOf(trace, s)}: ${s.operationName}`));
      // The HTTP server span (node:http is instrumented, loaded from outside the bundle; Express is bundled, so the
      // span lacks the route: "POST", not "POST /v1/orders") and eventfleet's own spans.
      for (const expected of [
        "eventfleet-api: POST",
        "eventfleet-api: create orders",
        "eventfleet-api: send orders",
      ]) {
        assert.ok(operations.has(expected), `${expected} in the trace:\n${tree}`);
      }
      assert.deepEqual(orphans(trace), [], `no orphan spans:\n${tree}`);
    } finally {
      await jaeger.stop();
    }
  });

  void test("worker device-ingest from the bundle is ready against Event Hubs, Blob storage and Cosmos", async () => {
    const emulator = await startEventHubsEmulator({
      port: 0,
      hubs: [{ name: HUB, partitions: 2, consumerGroups: [CONSUMER_GROUP] }],
    });
    try {
      const env = {
        ...(await createTestEnv({ aws: false, azure: true })),
        EVENTHUB_CONNECTION_STRING: emulator.connectionString(HUB),
        EVENTHUB_NAME: HUB,
        EVENTHUB_CONSUMER_GROUP: CONSUMER_GROUP,
      };
      const builtinsOut = join(outdir, "device-ingest-builtins.txt");
      const runner = await startRole(
        ["worker", "device-ingest"],
        { ...env, EVENTFLEET_TEST_BUILTINS_OUT: builtinsOut },
        `--import ${join(ROOT, "test/support/builtins-loaded.ts")}`,
      );
      await runner.stop("SIGTERM", 20_000);
      assert.equal((await runner.exited).code, 0, runner.tail());
      // Its Blob and Cosmos requests never touch the global FormData (scripts/bundle.ts): Node's internal undici, which
      // that lazy global loads (20–30 ms of start), stays unloaded.
      const builtins = readFileSync(builtinsOut, "utf8").split("\n");
      assert.ok(builtins.includes("NativeModule http"), "the list names the built-ins loaded");
      assert.ok(!builtins.includes("NativeModule internal/deps/undici/undici"), "undici was loaded");
    } finally {
      await emulator.close();
    }
  });
});
