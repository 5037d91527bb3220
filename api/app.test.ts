import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { orderPlacedEvent, orderCancelledEvent } from "../shared/events/order-events.ts";
import { waitFor } from "../test/support/wait.ts";
import { openApiPath, ROUTES } from "./routes.ts";
import { validOrder } from "../test/support/sample-order.ts";
import { startInProcessApi, withInProcessApi, type InProcessApi } from "../test/support/in-process-api.ts";
import { startLocalRedis } from "../test/support/local-redis.ts";
import { outboxCloudEvents } from "../test/support/outbox-streams.ts";

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  api: InProcessApi,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function outboxEvents(api: InProcessApi): Promise<Record<string, unknown>[]> {
  return outboxCloudEvents(api.redis, api.store.keys);
}

const clone = <T>(value: T): T => structuredClone(value);

/** A valid order as a test mutates it. */
interface OrderDraft {
  items: Record<string, unknown>[];
  shippingAddress: Record<string, unknown>;
  [field: string]: unknown;
}

/** One invalid body per rule: [what, mutate the valid order, a field path the problem must name]. */
const INVALID: [string, (o: OrderDraft) => unknown, string | undefined][] = [
  ["unknown top-level field", (o) => ({ ...o, discount: 5 }), "discount"],
  ["__proto__ key", (o) => `{"__proto__":{"admin":true},${JSON.stringify(o).slice(1)}`, "__proto__"],
  ["constructor key", (o) => ({ ...o, constructor: { prototype: {} } }), "constructor"],
  ["unknown field in a line", (o) => ((o.items[0]!.color = "red"), o), "items.0.color"],
  ["missing customerId", (o) => (delete o.customerId, o), "customerId"],
  ["empty customerId", (o) => ({ ...o, customerId: "" }), "customerId"],
  ["empty items", (o) => ({ ...o, items: [] }), "items"],
  ["101 items", (o) => ({ ...o, items: Array.from({ length: 101 }, () => o.items[0]) }), "items"],
  ["quantity 0", (o) => ((o.items[0]!.quantity = 0), o), "items.0.quantity"],
  ["quantity 10001", (o) => ((o.items[0]!.quantity = 10_001), o), "items.0.quantity"],
  ["fractional quantity", (o) => ((o.items[0]!.quantity = 1.5), o), "items.0.quantity"],
  ["quantity as a string", (o) => ((o.items[0]!.quantity = "2"), o), "items.0.quantity"],
  ["NaN string as price", (o) => ((o.items[0]!.unitPriceCents = "NaN"), o), "items.0.unitPriceCents"],
  [
    "huge number (1e400 → Infinity)",
    (o) => JSON.stringify(o).replace('"quantity":2', '"quantity":1e400'),
    "items.0.quantity",
  ],
  ["huge price", (o) => ((o.items[0]!.unitPriceCents = 2 ** 60), o), "items.0.unitPriceCents"],
  ["negative price", (o) => ((o.items[0]!.unitPriceCents = -1), o), "items.0.unitPriceCents"],
  ["fractional cents", (o) => ((o.items[0]!.unitPriceCents = 12.5), o), "items.0.unitPriceCents"],
  ["bad sku", (o) => ((o.items[0]!.sku = "../etc"), o), "items.0.sku"],
  ["unicode sku", (o) => ((o.items[0]!.sku = "ŠKU-1"), o), "items.0.sku"],
  ["lowercase currency", (o) => ({ ...o, currency: "eur" }), "currency"],
  ["4-letter currency", (o) => ({ ...o, currency: "EURO" }), "currency"],
  ["country not ISO alpha-2", (o) => ((o.shippingAddress.country = "Germany"), o), "shippingAddress.country"],
  ["unknown address field", (o) => ((o.shippingAddress.floor = 3), o), "shippingAddress.floor"],
  ["contact without email or phone", (o) => ({ ...o, contact: {} }), "contact"],
  ["invalid email", (o) => ({ ...o, contact: { email: "not-an-email" } }), "contact.email"],
  ["phone not E.164", (o) => ({ ...o, contact: { phone: "0301234567" } }), "contact.phone"],
  ["body is an array", () => [1, 2], ""],
  ["body is null (strict JSON: objects and arrays only)", () => "null", undefined],
  ["customerId too long (unicode)", (o) => ({ ...o, customerId: "é".repeat(129) }), "customerId"],
];

void describe("order API over HTTP (in-process, real Redis)", () => {
  const api = withInProcessApi();

  void test("POST /v1/orders answers 202 with id, status, Location, and writes order + order.placed", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const answer = await call(api, "POST", "/v1/orders", validOrder(), {
      traceparent,
      "x-request-id": "req-123",
    });
    assert.equal(answer.status, 202);
    assert.equal(answer.body.status, "ACKNOWLEDGED");
    assert.equal(answer.body.version, 1);
    const id = String(answer.body.id);
    assert.equal(answer.headers.get("location"), `/v1/orders/${id}`);
    assert.equal(answer.headers.get("x-request-id"), "req-123");
    assert.ok(answer.headers.get("x-content-type-options"), "helmet headers are set");

    const event = (await outboxEvents(api)).find((e) => (e.data as { orderId: string }).orderId === id);
    const placed = orderPlacedEvent.parse(event);
    assert.equal(placed.traceparent, traceparent, "the incoming traceparent is carried into the event");
    assert.equal(placed.data.totalCents, 2 * 1250 + 999);
    assert.equal(placed.orderversion, 1);

    const read = await call(api, "GET", `/v1/orders/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.id, id);
    assert.equal(read.body.status, "ACKNOWLEDGED");
    assert.equal(read.body.version, 1);
    const history = read.body.history as { stage: string; at: string }[];
    assert.equal(history[0]?.stage, "ACKNOWLEDGED");
    assert.ok(!Number.isNaN(Date.parse(history[0].at)));
  });

  void test("Idempotency-Key: same key and body replays the response, another body is 422", async () => {
    const key = randomUUID();
    const first = await call(api, "POST", "/v1/orders", validOrder(), { "idempotency-key": key });
    const reordered = Object.fromEntries(Object.entries(validOrder()).reverse());
    const second = await call(api, "POST", "/v1/orders", reordered, { "idempotency-key": key });
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get("location"), first.headers.get("location"));
    const placed = (await outboxEvents(api)).filter(
      (e) => (e.data as { orderId: string }).orderId === first.body.id,
    );
    assert.equal(placed.length, 1, "one order, one event");

    const other = { ...validOrder(), customerId: "someone-else" };
    const conflict = await call(api, "POST", "/v1/orders", other, { "idempotency-key": key });
    assert.equal(conflict.status, 422);
    assert.equal(conflict.headers.get("content-type"), "application/problem+json; charset=utf-8");
    const ttl = await api.redis.ttl(api.store.keys.idempotency("ip:127.0.0.1", key));
    assert.ok(ttl > 86_000 && ttl <= 86_400, `key lives 24 h (ttl ${ttl})`);

    const badKey = await call(api, "POST", "/v1/orders", validOrder(), {
      "idempotency-key": "x".repeat(300),
    });
    assert.equal(badKey.status, 400);
  });

  for (const [what, mutate, path] of INVALID) {
    void test(`400 with field path for an invalid body: ${what}`, async () => {
      const body = mutate(clone(validOrder()) as OrderDraft);
      const answer = await call(api, "POST", "/v1/orders", body);
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.status, 400);
      assert.ok(!JSON.stringify(answer.body).includes("    at "), "no stack trace");
      if (path === undefined) return;
      const paths = (answer.body.errors as { path: string }[]).map((e) => e.path);
      assert.ok(
        paths.includes(path),
        `errors name ${JSON.stringify(path)}: ${JSON.stringify(answer.body.errors)}`,
      );
    });
  }

  void test("accepts unicode names and the boundaries of every rule", async () => {
    const order = validOrder() as { items: unknown[]; shippingAddress: Record<string, string> } & Record<
      string,
      unknown
    >;
    order.shippingAddress.name = "Zoë 山田 🚚";
    order.items = Array.from({ length: 100 }, (_, i) => ({
      sku: `S${i}`,
      quantity: 10_000,
      unitPriceCents: 100_000_000,
    }));
    order.contact = { phone: "+4930123456" };
    const answer = await call(api, "POST", "/v1/orders", order);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
  });

  void test("protocol errors are problem+json: 400 malformed, 415 content type, 413 too large, 404, 405", async () => {
    const malformed = await call(api, "POST", "/v1/orders", "{not json");
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.type, "https://eventfleet.dev/problems/malformed-json");

    const text = await fetch(`${api.url}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    assert.equal(text.status, 415);
    assert.equal(text.headers.get("content-type"), "application/problem+json; charset=utf-8");

    const big = { ...validOrder(), customerId: "x".repeat(70_000) };
    assert.equal((await call(api, "POST", "/v1/orders", big)).status, 413);

    const empty = await fetch(`${api.url}/v1/orders`, { method: "POST" });
    assert.equal(empty.status, 400);

    assert.equal((await call(api, "GET", "/v1/nothing")).status, 404);
    assert.equal((await call(api, "GET", `/v1/orders/${randomUUID()}`)).status, 404);
    assert.equal((await call(api, "GET", "/v1/orders/not-a-uuid")).status, 404);
    const wrongMethod = await call(api, "DELETE", "/v1/orders");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "POST");
    assert.equal((await call(api, "PATCH", `/v1/orders/${randomUUID()}`)).status, 405);
  });

  void test("cancel: 202 and order.cancelled before shipping; 409 when already final; 404 when unknown", async () => {
    const placed = await call(api, "POST", "/v1/orders", validOrder());
    const id = String(placed.body.id);
    const cancel = await call(api, "POST", `/v1/orders/${id}/cancel`, { reason: "changed my mind" });
    assert.equal(cancel.status, 202);
    assert.equal(cancel.body.status, "CANCELLED");
    assert.equal(cancel.body.version, 2);
    const event = (await outboxEvents(api)).find(
      (e) => e.type === "order.cancelled" && (e.data as { orderId: string }).orderId === id,
    );
    assert.equal(orderCancelledEvent.parse(event).data.reason, "changed my mind");
    assert.equal(orderCancelledEvent.parse(event).orderversion, 2);

    const again = await call(api, "POST", `/v1/orders/${id}/cancel`);
    assert.equal(again.status, 409);
    assert.match(String(again.body.detail), /CANCELLED/);

    const shipped = await call(api, "POST", "/v1/orders", validOrder());
    const shippedId = String(shipped.body.id);
    await api.store.transition(shippedId, { allowedFrom: ["ACKNOWLEDGED"], to: "INVENTORY_RESERVED" });
    await api.store.transition(shippedId, { allowedFrom: ["INVENTORY_RESERVED"], to: "SHIPPED" });
    assert.equal((await call(api, "POST", `/v1/orders/${shippedId}/cancel`)).status, 409);

    assert.equal((await call(api, "POST", `/v1/orders/${randomUUID()}/cancel`)).status, 404);
    assert.equal((await call(api, "POST", `/v1/orders/${id}/cancel`, { reason: 5 })).status, 400);
  });

  void test("inventory: PUT sets available, GET reads available and reserved; bad SKU or body is 400", async () => {
    const sku = `SKU-${randomUUID().slice(0, 8)}`;
    assert.deepEqual((await call(api, "GET", `/v1/inventory/${sku}`)).body, {
      sku,
      available: 0,
      reserved: 0,
    });
    const put = await call(api, "PUT", `/v1/inventory/${sku}`, { available: 42 });
    assert.equal(put.status, 200);
    assert.deepEqual((await call(api, "GET", `/v1/inventory/${sku}`)).body, {
      sku,
      available: 42,
      reserved: 0,
    });
    assert.equal((await call(api, "PUT", `/v1/inventory/${sku}`, { available: -1 })).status, 400);
    assert.equal((await call(api, "PUT", `/v1/inventory/${sku}`, { available: 1, reserved: 3 })).status, 400);
    assert.equal((await call(api, "GET", `/v1/inventory/${"x".repeat(65)}`)).status, 400);
  });

  void test("/openapi.json documents every route the app serves", async () => {
    const doc = (await call(api, "GET", "/openapi.json")).body as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    assert.equal(doc.openapi, "3.1.0");
    for (const route of ROUTES) {
      const operation = doc.paths[openApiPath(route.path)]?.[route.method];
      assert.ok(operation, `${route.method} ${route.path} is documented`);
      if (route.body) assert.ok(operation.requestBody, `${route.path} documents its body`);
    }
    // And nothing the app answers is missing: every documented path/method pair is served (not 404/405).
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        const concrete = path.replace("{id}", randomUUID()).replace("{sku}", "S1");
        const status = (await call(api, method.toUpperCase(), concrete, method === "get" ? undefined : {}))
          .status;
        assert.ok(![404, 405].includes(status) || path.includes("{id}"), `${method} ${path} → ${status}`);
      }
    }
  });

  void test("/openapi.json is self-contained and its request schema accepts and refuses what the route does", async () => {
    const doc = (await call(api, "GET", "/openapi.json")).body as {
      components: Record<string, Record<string, Record<string, unknown>>> & {
        schemas: Record<string, Record<string, unknown>>;
      };
    };
    const text = JSON.stringify(doc);
    for (const [, target] of text.matchAll(/"\$ref":"([^"]+)"/g)) {
      const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(target!) ?? [];
      assert.ok(kind && name && doc.components[kind]?.[name], `${target} resolves`);
    }
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(doc.components.schemas.PlaceOrderRequest!);
    assert.ok(validate(validOrder()), JSON.stringify(validate.errors));
    assert.equal(validate({ ...validOrder(), extra: 1 }), false);
    assert.equal(validate({ ...validOrder(), items: [] }), false);
  });

  void test("HTTP metrics carry method, route template and status code", async () => {
    await call(api, "GET", `/v1/orders/${randomUUID()}`);
    const metrics = await api.registry.metrics();
    assert.match(
      metrics,
      /eventfleet_http_request_duration_seconds_count\{method="GET",route="\/v1\/orders\/\{id\}",status_code="404"\} \d+/,
    );
  });
});

void describe("order API with Redis down", () => {
  void test("writes and reads answer 503 while Redis is down, and work again once it is back", async () => {
    const redis = await startLocalRedis();
    const api = await startInProcessApi({ redisUrl: redis.url });
    try {
      await redis.kill();
      const down = await call(api, "POST", "/v1/orders", validOrder());
      assert.equal(down.status, 503);
      assert.equal(down.headers.get("retry-after"), "1");
      assert.equal((await call(api, "GET", `/v1/orders/${randomUUID()}`)).status, 503);
      await redis.start();
      await waitFor(async () => (await call(api, "POST", "/v1/orders", validOrder())).status === 202, {
        description: "the API accepting orders again after Redis came back",
      });
    } finally {
      await api.close();
      await redis.stop();
    }
  });
});
