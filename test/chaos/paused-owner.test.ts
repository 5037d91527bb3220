// Quick paused owner: a replica SIGSTOPped past its ownership expiry wakes up after its successor read on; it must
// give the partition up without reading it, and no checkpoint may move backwards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runPausedOwnerChaos } from "../support/chaos/chaos-paused-owner.ts";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";

test("a replica paused past its ownership expiry gives its partition up on waking: no read, no checkpoint moved backwards", async () => {
  const result = await runPausedOwnerChaos({
    eventsPerPhase: 300,
    partitions: 1,
    successors: 1,
    slowCosmosOneWayMs: 300,
    observeAfterWakeMs: 5000,
  });
  assert.equal(result.faults.length, 1, "the pause was injected");
  assert.equal(violationCount(result), 0, describeViolations(result));
});
