// Property-based fuzzing of request bodies and headers: never a 5xx, the process stays healthy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { jsonArbitrary, mutatedOrder, nastyKeys } from "../test/support/fuzz-arbitraries.ts";
import { withInProcessApi } from "../test/support/in-process-api.ts";
import { validOrder } from "../test/support/sample-order.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Anything JSON can say, with the keys that attack object handling mixed in. */
const json = jsonArbitrary({
  keys: nastyKeys([
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "items",
    "customerId",
  ]),
  numberLikeStrings: true,
});

/** A valid order with one field replaced by something arbitrary (deep paths included). */
const mutated = mutatedOrder(validOrder, json);

const rawBody = fc.oneof(
  json.map((v) => JSON.stringify(v) ?? "null"),
  mutated.map((o) => JSON.stringify(o)),
  fc.string({ unit: "binary", maxLength: 300 }),
  mutated.map((o) => JSON.stringify(o).replace(/^\{/, '{"__proto__":{"polluted":true},')),
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
