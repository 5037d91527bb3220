// Quick order-side faults: Redis crashing with and without persistence, SNS/SQS resetting and black-holing
// connections (the API's readiness sampled), and a message that fails every attempt.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runPoisonChaos, runRedisLossChaos, runSnsFaultChaos } from "../support/chaos/chaos-order-faults.ts";
import { describeViolations, violationCount, type ChaosResult } from "../support/chaos/chaos-report.ts";

const holds = (result: ChaosResult) => assert.equal(violationCount(result), 0, describeViolations(result));

test("Redis crashing without persistence: the relay recreates its group and publishes every order placed after", async () => {
  holds(await runRedisLossChaos({ ordersPerPhase: 5, persistence: false }));
});

test("Redis crashing with AOF: no order lost, every one published", async () => {
  holds(await runRedisLossChaos({ ordersPerPhase: 5, persistence: true }));
});

test("SNS/SQS refusing and resetting connections: the API stays ready and takes orders, the relay catches up", async () => {
  holds(await runSnsFaultChaos({ fault: "reset", faultMs: 8000, orders: 8 }));
});

test("SNS/SQS accepting connections and never answering: the API stays ready, the relay times out and catches up", async () => {
  holds(await runSnsFaultChaos({ fault: "blackhole", faultMs: 8000, orders: 8 }));
});

test("a message failing every attempt is dead-lettered with reason retries_exhausted and the last error", async () => {
  holds(await runPoisonChaos({ messages: 2 }));
});
