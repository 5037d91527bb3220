// Orders belong to the principal that placed them: others neither read nor cancel them; operators (orders:admin) do.
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sha256Hex } from "./auth.ts";
import { startInProcessApi, type InProcessApi } from "../test/support/in-process-api.ts";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { validOrder } from "../test/support/sample-order.ts";

void describe("order ownership (AUTH_MODE=apikey, real Redis)", () => {
  const keys = { shopA: randomUUID(), shopB: randomUUID(), operator: randomUUID() };
  let redis: LocalRedis;
  let api: InProcessApi;
  before(async () => {
    redis = await startLocalRedis();
    const apiKeys = JSON.stringify([
      { name: "shop-a", sha256: sha256Hex(keys.shopA), scopes: ["orders:write", "orders:read"] },
      { name: "shop-b", sha256: sha256Hex(keys.shopB), scopes: ["orders:write", "orders:read"] },
      {
        name: "ops",
        sha256: sha256Hex(keys.operator),
        scopes: ["orders:read", "orders:write", "orders:admin"],
      },
    ]);
    api = await startInProcessApi({ redisUrl: redis.url, auth: { mode: "apikey", apiKeys } });
  });
  after(async () => {
    await api.close();
    await redis.stop();
  });

  const as = async (who: keyof typeof keys, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        "x-api-key": keys[who],
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  void test("another principal with orders:read and orders:write gets 404 for an order it did not place", async () => {
    const placed = await as("shopA", "POST", "/v1/orders", validOrder());
    assert.equal(placed.status, 202);
    const id = String(placed.body.id);
    assert.equal((await as("shopA", "GET", `/v1/orders/${id}`)).status, 200, "the owner reads it");
    const read = await as("shopB", "GET", `/v1/orders/${id}`);
    assert.equal(read.status, 404, "no personal data for another principal");
    assert.equal(read.body.shippingAddress, undefined);
    assert.equal((await as("shopB", "POST", `/v1/orders/${id}/cancel`, {})).status, 404);
    const unchanged = await as("shopA", "GET", `/v1/orders/${id}`);
    assert.equal(unchanged.body.status, "ACKNOWLEDGED", "the other principal's cancel changed nothing");
    assert.equal(unchanged.body.owner, undefined, "the owner is not part of the order's view");
  });

  void test("an operator (orders:admin) reads and cancels any order; the owner cancels its own", async () => {
    const first = String((await as("shopA", "POST", "/v1/orders", validOrder())).body.id);
    assert.equal((await as("operator", "GET", `/v1/orders/${first}`)).status, 200);
    const cancelled = await as("operator", "POST", `/v1/orders/${first}/cancel`, { reason: "fraud check" });
    assert.equal(cancelled.status, 202);
    assert.equal(cancelled.body.status, "CANCELLED");

    const second = String((await as("shopB", "POST", "/v1/orders", validOrder())).body.id);
    assert.equal((await as("shopB", "POST", `/v1/orders/${second}/cancel`, {})).status, 202);
  });

  void test("the owner is recorded with the order in Redis", async () => {
    const id = String((await as("shopA", "POST", "/v1/orders", validOrder())).body.id);
    assert.equal((await api.store.getOrder(id))?.owner, "key:shop-a");
  });
});
