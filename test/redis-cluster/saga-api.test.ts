// The saga on a real Redis Cluster (3 masters + 3 replicas), every role its own process configured only by
// REDIS_CLUSTER_NODES (+ REDIS_URL for credentials): `eventfleet api` (with its relay) and the three workers.
// Orders over HTTP reach SHIPPED (one SKU, and several SKUs whose stock lives on different masters), REJECTED (one
// line short: the other SKUs' holds are given back) and CANCELLED (stock restored); an Idempotency-Key replays.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { redisKeys } from "../../shared/redis-keys.ts";
import { keySlot } from "../../shared/redis-slot.ts";
import { clusterRedisEnv } from "../support/cluster-redis-config.ts";
import { LocalRedisCluster } from "../support/redis-cluster.ts";
import {
  TestWebhook,
  startApi,
  startWorker,
  stopWorker,
  type ApiProcess,
  type WorkerName,
  type WorkerProcess,
} from "../support/saga-stack.ts";
import { createTestEnv } from "../support/stack.ts";
import { waitFor } from "../support/wait.ts";

const SAGA_TIMEOUT = { timeoutMs: 90_000, intervalMs: 200 };

interface OrderView {
  id: string;
  status: string;
  history: Array<{ stage: string }>;
}

describe("order saga through the API on a Redis Cluster", () => {
  let cluster: LocalRedisCluster;
  let workerEnv: Record<string, string>;
  let api: ApiProcess;
  const webhook = new TestWebhook();
  const workers = new Map<WorkerName, WorkerProcess>();

  before(async () => {
    cluster = await LocalRedisCluster.start();
    const env = {
      ...(await createTestEnv({ aws: true, visibilityTimeoutSeconds: 3 })),
      ...clusterRedisEnv(cluster),
    };
    await webhook.start();
    workerEnv = { ...env, NOTIFY_WEBHOOK_URL: webhook.url, NOTIFY_WEBHOOK_SECRET: webhook.secret };
    api = await startApi(env);
    for (const name of ["inventory", "shipment", "notification"] as const) {
      workers.set(name, await startWorker(name, workerEnv));
    }
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => stopWorker(w)));
    if (api && api.child.exitCode === null) {
      api.child.kill("SIGTERM");
      await api.exited;
    }
    await webhook.stop();
    await cluster?.stop();
  });

  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T; headers: Headers }> => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as T,
      headers: response.headers,
    };
  };

  const orderBody = (lines: Array<{ sku: string; quantity: number }>) => ({
    customerId: "customer-cluster",
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

  async function place(lines: Array<{ sku: string; quantity: number }>, key?: string): Promise<string> {
    const { status, body } = await call<{ id: string }>(
      "POST",
      "/v1/orders",
      orderBody(lines),
      key ? { "idempotency-key": key } : {},
    );
    assert.equal(status, 202);
    return body.id;
  }

  const order = async (id: string) => (await call<OrderView>("GET", `/v1/orders/${id}`)).body;
  const stock = async (sku: string) =>
    (await call<{ sku: string; available: number; reserved: number }>("GET", `/v1/inventory/${sku}`)).body;
  const seed = async (sku: string, available: number) =>
    assert.equal((await call("PUT", `/v1/inventory/${sku}`, { available })).status, 200);
  const until = (id: string, status: string) =>
    waitFor(async () => (await order(id)).status === status, {
      ...SAGA_TIMEOUT,
      description: `order ${id} ${status}`,
    });

  /** SKUs whose stock lives on `count` different masters. */
  async function skusOnDifferentMasters(count: number): Promise<string[]> {
    const masters = await cluster.masters();
    const owner = (sku: string) => {
      const slot = keySlot(redisKeys("any").stock(sku));
      return masters.findIndex((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
    };
    const chosen = new Map<number, string>();
    while (chosen.size < count) {
      const sku = `CL-${randomUUID().slice(0, 8)}`;
      if (!chosen.has(owner(sku))) chosen.set(owner(sku), sku);
    }
    return [...chosen.values()];
  }

  test("an order with an Idempotency-Key reaches SHIPPED; the same request replays it; two notifications", async () => {
    const [sku] = await skusOnDifferentMasters(1);
    await seed(sku!, 4);
    const key = randomUUID();
    const id = await place([{ sku: sku!, quantity: 3 }], key);
    assert.equal(await place([{ sku: sku!, quantity: 3 }], key), id, "the replay names the same order");
    await until(id, "SHIPPED");
    await waitFor(() => webhook.delivered(id).length === 2, {
      ...SAGA_TIMEOUT,
      description: "two notifications",
    });
    assert.deepEqual(await stock(sku!), { sku, available: 1, reserved: 0 });
  });

  test("an order over three SKUs on three masters reaches SHIPPED, each SKU's stock moved once", async () => {
    const skus = await skusOnDifferentMasters(3);
    for (const sku of skus) await seed(sku, 5);
    const id = await place(skus.map((sku, i) => ({ sku, quantity: i + 1 })));
    await until(id, "SHIPPED");
    for (const [i, sku] of skus.entries())
      assert.deepEqual(await stock(sku), { sku, available: 5 - (i + 1), reserved: 0 });
  });

  test("one line short over three masters: REJECTED, and the other SKUs' holds are given back", async () => {
    const skus = await skusOnDifferentMasters(3);
    await seed(skus[0]!, 5);
    await seed(skus[1]!, 5);
    await seed(skus[2]!, 1);
    const id = await place(skus.map((sku) => ({ sku, quantity: 2 })));
    await until(id, "REJECTED");
    assert.deepEqual(await stock(skus[0]!), { sku: skus[0], available: 5, reserved: 0 });
    assert.deepEqual(await stock(skus[1]!), { sku: skus[1], available: 5, reserved: 0 });
    assert.deepEqual(await stock(skus[2]!), { sku: skus[2], available: 1, reserved: 0 });
  });

  test("a cancel over HTTP before shipping: CANCELLED, the stock of every SKU restored, never shipped", async () => {
    await stopWorker(workers.get("shipment")!);
    const skus = await skusOnDifferentMasters(2);
    for (const sku of skus) await seed(sku, 5);
    const id = await place(skus.map((sku) => ({ sku, quantity: 2 })));
    await until(id, "INVENTORY_RESERVED");
    for (const sku of skus) assert.deepEqual(await stock(sku), { sku, available: 3, reserved: 2 });
    assert.equal((await call("POST", `/v1/orders/${id}/cancel`, { reason: "changed my mind" })).status, 202);
    await waitFor(async () => (await Promise.all(skus.map(stock))).every((level) => level.available === 5), {
      ...SAGA_TIMEOUT,
      description: "stock released",
    });
    workers.set("shipment", await startWorker("shipment", workerEnv));
    await waitFor(() => webhook.delivered(id, "order.cancelled").length === 1, SAGA_TIMEOUT);
    assert.equal((await order(id)).status, "CANCELLED");
    for (const sku of skus) assert.deepEqual(await stock(sku), { sku, available: 5, reserved: 0 });
  });

  test("no role logged a CROSSSLOT or any other Redis refusal", () => {
    for (const [name, output] of [
      ["api", api.output()],
      ...[...workers.values()].map((w) => [w.name, w.output()] as const),
    ] as const) {
      assert.doesNotMatch(output, /CROSSSLOT|should belong to the same slot/, name);
    }
  });
});
