import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { renderJsonSchemas } from "./json-schemas.ts";
import { deviceEvent } from "./device-event.ts";
import { orderEvent } from "./order-events.ts";
import { newCloudEvent } from "./cloudevent.ts";

const docs = resolve(import.meta.dirname, "../../docs/schemas");

describe("event contracts", () => {
  test("docs/schemas matches the zod schemas (run `npx eventfleet schema export docs/schemas` after a change)", () => {
    const rendered = renderJsonSchemas();
    assert.deepEqual(readdirSync(docs).sort(), [...rendered.keys()].sort());
    for (const [file, text] of rendered)
      assert.equal(readFileSync(join(docs, file), "utf8"), text, `${file} drifted`);
  });

  test("a well-formed order.placed CloudEvent parses; unknown envelope fields are refused", () => {
    const event = newCloudEvent({
      type: "order.placed",
      source: "/eventfleet/api",
      subject: "order/1",
      orderversion: 1,
      data: {
        orderId: "7b0c64a6-4a3a-4d5e-9a57-2f1d3c4b5a69",
        customerId: "c-1",
        items: [{ sku: "SKU-1", quantity: 2, unitPriceCents: 500 }],
        currency: "EUR",
        totalCents: 1000,
        shippingAddress: {
          name: "Ada",
          line1: "1 Main St",
          city: "Berlin",
          postalCode: "10115",
          country: "DE",
        },
        contact: { email: "ada@example.com" },
        placedAt: new Date().toISOString(),
      },
    });
    assert.equal(orderEvent.safeParse(event).success, true);
    assert.equal(orderEvent.safeParse({ ...event, extra: 1 }).success, false);
    assert.equal(orderEvent.safeParse({ ...event, type: "order.lost" }).success, false);
    assert.equal(
      orderEvent.safeParse({ ...event, traceparent: "00-" + "0".repeat(32) + "-" + "1".repeat(16) + "-01" })
        .success,
      false,
    );
  });

  test("device events: type, timestamp and payload are checked; a deviceId is required", () => {
    const ok = { deviceId: "dev-1", type: "telemetry", ts: "2026-11-25T10:00:00Z", payload: { t: 21.5 } };
    assert.equal(deviceEvent.safeParse(ok).success, true);
    assert.equal(deviceEvent.safeParse({ ...ok, deviceId: undefined }).success, false);
    assert.equal(deviceEvent.safeParse({ ...ok, type: "reboot" }).success, false);
    assert.equal(deviceEvent.safeParse({ ...ok, ts: "yesterday" }).success, false);
    assert.equal(deviceEvent.safeParse({ ...ok, payload: [1] }).success, false);
  });
});
