// Quick order chaos: 100 orders while a worker or relay is SIGKILLed and another SIGTERMed; the saga invariants hold.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";
import { runOrderChaos } from "../support/chaos/chaos-orders.ts";

test("orders under process kills: every order final, stock moved once, one shipment and one notification each, outbox and DLQs empty", async () => {
  const result = await runOrderChaos({
    orders: Number(process.env.CHAOS_QUICK_ORDERS ?? 100),
    ratePerSecond: 10,
    processFaults: 2,
    redisRestart: false,
    cancelEvery: 5,
    seed: 7,
    settleTimeoutMs: 120_000,
  });
  assert.equal(result.faults.length, 2, "both faults were injected");
  assert.equal(result.counts.accepted, Number(process.env.CHAOS_QUICK_ORDERS ?? 100));
  assert.equal(violationCount(result), 0, describeViolations(result));
});
