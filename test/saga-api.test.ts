// The saga through the public API: `eventfleet api` (with its relay) and the three workers, each its own process.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  TestWebhook,
  startApi,
  startWorker,
  stopWorker,
  type ApiProcess,
  type WorkerName,
  type WorkerProcess,
} from "./support/saga-stack.ts";
import { createTestEnv } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const SAGA_TIMEOUT = { timeoutMs: 60_000, intervalMs: 100 };

interface OrderView {
  id: string;
  status: string;
  version: number;
  history: Array<{ stage: string; at: string; eventId?: string; detail?: Record<string, unknown> }>;
}

describe("order saga through the API", () => {
  let workerEnv: Record<string, string>;
  let api: ApiProcess;
  const webhook = new TestWebhook();
  const workers = new Map<WorkerName, WorkerProcess>();

  before(async () => {
    const env = await createTestEnv({ aws: true, visibilityTimeoutSeconds: 3 });
    await webhook.start();
    workerEnv = { ...env, NOTIFY_WEBHOOK_URL: webhook.url, NOTIFY_WEBHOOK_SECRET: webhook.secret };
    api = await startApi(env);
    for (const name of ["inventory", "shipment", "notification"] as const) {
      workers.set(name, await startWorker(name, workerEnv));
    }
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => stopWorker(w)));
    if (api?.child.exitCode === null) {
      api.child.kill("SIGTERM");
      await api.exited;
    }
    await webhook.stop();
  });

  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  async function place(lines: Array<{ sku: string; quantity: number }>): Promise<string> {
    const { status, body } = await call<{ id: string }>("POST", "/v1/orders", {
      customerId: "customer-api",
      items: lines.map((l) => ({ ...l, unitPriceCents: 999 })),
      currency: "EUR",
      shippingAddress: {
        name: "Grace Hopper",
        line1: "1 Harbor Rd",
        city: "Arlington",
        postalCode: "22201",
        country: "US",
      },
      contact: { email: "grace@example.com" },
    });
    assert.equal(status, 202);
    return body.id;
  }

  const order = async (id: string) => (await call<OrderView>("GET", `/v1/orders/${id}`)).body;
  const stock = async (sku: string) =>
    (await call<{ available: number; reserved: number }>("GET", `/v1/inventory/${sku}`)).body;
  const seed = async (sku: string, available: number) =>
    assert.equal((await call("PUT", `/v1/inventory/${sku}`, { available })).status, 200);
  const until = (id: string, status: string) =>
    waitFor(async () => (await order(id)).status === status, {
      ...SAGA_TIMEOUT,
      description: `order ${id} ${status}`,
    });

  test("an order placed over HTTP reaches SHIPPED with its history and two signed notifications", async () => {
    const sku = `API-${randomUUID().slice(0, 8)}`;
    await seed(sku, 4);
    const id = await place([{ sku, quantity: 3 }]);
    await until(id, "SHIPPED");
    await waitFor(() => webhook.delivered(id).length === 2, {
      ...SAGA_TIMEOUT,
      description: "two notifications",
    });
    assert.ok(webhook.delivered(id).every((d) => d.signatureValid));
    await waitFor(
      async () => (await order(id)).history.filter((h) => h.stage === "NOTIFIED").length === 2,
      SAGA_TIMEOUT,
    );
    const stages = (await order(id)).history.map((h) => h.stage);
    for (const stage of ["ACKNOWLEDGED", "INVENTORY_RESERVED", "SHIPPED"])
      assert.ok(stages.includes(stage), stage);
    assert.deepEqual(await stock(sku), { sku, available: 1, reserved: 0 });
  });

  test("an order over HTTP that cannot be filled is REJECTED and stock stays as it was", async () => {
    const sku = `API-${randomUUID().slice(0, 8)}`;
    await seed(sku, 1);
    const id = await place([{ sku, quantity: 2 }]);
    await until(id, "REJECTED");
    assert.deepEqual(await stock(sku), { sku, available: 1, reserved: 0 });
  });

  test("a cancel over HTTP before shipping: CANCELLED, stock restored exactly, never shipped", async () => {
    await stopWorker(workers.get("shipment")!);
    const sku = `API-${randomUUID().slice(0, 8)}`;
    await seed(sku, 5);
    const id = await place([{ sku, quantity: 2 }]);
    await until(id, "INVENTORY_RESERVED");
    assert.deepEqual(await stock(sku), { sku, available: 3, reserved: 2 });
    assert.equal((await call("POST", `/v1/orders/${id}/cancel`, { reason: "changed my mind" })).status, 202);
    await waitFor(async () => (await stock(sku)).available === 5, {
      ...SAGA_TIMEOUT,
      description: "stock released",
    });
    workers.set("shipment", await startWorker("shipment", workerEnv));
    await waitFor(() => webhook.delivered(id, "order.cancelled").length === 1, SAGA_TIMEOUT);
    await waitFor(
      async () => (await order(id)).history.some((h) => h.stage === "STOCK_RELEASED"),
      SAGA_TIMEOUT,
    );
    assert.equal((await order(id)).status, "CANCELLED");
    assert.deepEqual(await stock(sku), { sku, available: 5, reserved: 0 });
    assert.equal((await call("POST", `/v1/orders/${id}/cancel`, {})).status, 409);
  });
});
