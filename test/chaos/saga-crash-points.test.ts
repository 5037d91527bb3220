// Quick saga-step crash points: the inventory and shipment workers are SIGKILLed right after a saga step went to
// Redis and instead of sending one, while orders flow; after redelivery the saga invariants hold.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";
import { runOrderChaos } from "../support/chaos/chaos-orders.ts";

test("orders with workers killed at their saga steps: every order final, stock and shipments moved once, nothing stuck", async () => {
  const result = await runOrderChaos({
    orders: 100,
    ratePerSecond: 5,
    processFaults: 0,
    redisRestart: false,
    cancelEvery: 4,
    stepCrashes: 3,
    seed: 11,
    settleTimeoutMs: 120_000,
  });
  assert.equal(result.faults.length, 6, "three crashes of each saga worker");
  assert.equal(violationCount(result), 0, describeViolations(result));
});
