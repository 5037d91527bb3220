import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveDeviceIngestOptions } from "./device-ingest-options.ts";

describe("resolveDeviceIngestOptions", () => {
  test("fills in the documented defaults", () => {
    const options = resolveDeviceIngestOptions({ consumerGroup: "device-ingest" });
    assert.equal(options.maxBatchSize, 500);
    assert.equal(options.startPosition, "earliest");
    assert.equal(options.loadBalancing, "balanced");
    assert.equal(options.ownershipExpiryMs, 60_000);
    assert.equal(options.writeMode, "bulk");
  });

  test("an ownership expiry that live replicas could miss is refused, naming the option", () => {
    assert.throws(
      () =>
        resolveDeviceIngestOptions({
          consumerGroup: "g",
          loadBalancingIntervalMs: 10_000,
          ownershipExpiryMs: 15_000,
        }),
      /ownershipExpiryMs must be at least twice loadBalancingIntervalMs/,
    );
  });
});
