// Property-based fuzzing of request bodies and headers: never a 5xx, the process stays healthy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { withInProcessApi } from "./test-support/in-process-api.ts";
import { validOrder } from "./test-support/sample-order.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Anything JSON can say, with the keys that attack object handling mixed in. */
const nastyKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "items",
    "customerId",
  ),
  fc.string(),
);
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0, 0.1, 10_001, 1e21),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    nastyNumber,
    fc.string({ unit: "grapheme" }),
    fc.constantFrom("NaN", "Infinity", "1e999", ""),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(nastyKey, tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** A valid order with one field replaced by something arbitrary (deep paths included). */
const mutatedOrder = fc.tuple(fc.constantFrom(...paths(validOrder())), json).map(([path, value]) => {
  const order = structuredClone(validOrder());
  let target = order;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[path.at(-1)!] = value;
  return order;
});

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  return [
    ...(prefix.length > 0 ? [prefix] : []),
    ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k])),
  ];
}

const rawBody = fc.oneof(
  json.map((v) => JSON.stringify(v) ?? "null"),
  mutatedOrder.map((o) => JSON.stringify(o)),
  fc.string({ unit: "binary", maxLength: 300 }),
  mutatedOrder.map((o) => JSON.stringify(o).replace(/^\{/, '{"__proto__":{"polluted":true},')),
);

const headerValue = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  }),
  fc.constantFrom(
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-00000000000000000000000000000000-0000000000000000-00",
    "application/json; charset=latin1",
    "application/json; charset=utf-16",
    "application/merge-patch+json",
    "",
  ),
);

void describe("fuzzing the order API", () => {
  const api = withInProcessApi();

  const healthy = async () => {
    const response = await fetch(`${api.url}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(validOrder()),
    });
    assert.equal(response.status, 202, "a valid order is still accepted");
    assert.equal(
      ({}.constructor.prototype as Record<string, unknown>).polluted,
      undefined,
      "no prototype pollution",
    );
  };

  void test(`arbitrary bodies never cause a 5xx (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        rawBody,
        fc.constantFrom(
          "/v1/orders",
          "/v1/orders/00000000-0000-4000-8000-000000000000/cancel",
          "/v1/inventory/S1",
        ),
        async (body, path) => {
          const response = await fetch(`${api.url}${path}`, {
            method: path.includes("inventory") ? "PUT" : "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          const text = await response.text();
          assert.ok(response.status < 500, `${response.status} for ${body.slice(0, 200)}: ${text}`);
          assert.ok(!text.includes("    at "), "no stack trace");
        },
      ),
      { numRuns: RUNS },
    );
    await healthy();
  });

  void test(`arbitrary headers never cause a 5xx (${Math.ceil(RUNS / 3)} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          "idempotency-key": headerValue,
          "x-request-id": headerValue,
          traceparent: headerValue,
          "content-type": headerValue,
          "x-api-key": headerValue,
          authorization: headerValue,
        }),
        async (headers) => {
          const response = await fetch(`${api.url}/v1/orders`, {
            method: "POST",
            headers,
            body: JSON.stringify(validOrder()),
          });
          const text = await response.text();
          assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(headers)}: ${text}`);
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
    await healthy();
  });
});
