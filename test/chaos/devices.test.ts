// Quick device chaos: 2,000 events over 4 partitions and 3 replicas, one SIGKILLed and Cosmos away for a moment.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runDeviceChaos } from "../support/chaos/chaos-devices.ts";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";

test("device events under a replica SIGKILL and a Cosmos outage: valid ones in Cosmos exactly once, invalid ones dead-lettered, nothing else", async () => {
  const result = await runDeviceChaos({
    events: 2000,
    partitions: 4,
    replicas: 3,
    invalidEvery: 20,
    replicaFaults: ["SIGKILL"],
    cosmosOutageMs: 2000,
    ratePerSecond: 400,
    seed: 3,
    settleTimeoutMs: 120_000,
  });
  assert.equal(result.faults.length, 2, "the kill and the outage were injected");
  assert.equal(violationCount(result), 0, describeViolations(result));
});
