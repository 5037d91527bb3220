// Quick large events: a backlog of 16 KiB events drained under a slow Cosmos by a replica told its pod has 512 MiB
// (the chart's limit); it stays under the limit and stores every event.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runLargeEventsChaos } from "../support/chaos/chaos-large-events.ts";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";

test("large events under a slow Cosmos: RSS stays under the pod's memory limit and every event is stored", async () => {
  const result = await runLargeEventsChaos({
    events: 1500,
    eventBytes: 16 * 1024,
    partitions: 4,
    memoryLimitBytes: 512 * 1024 * 1024, // the chart's limit; the process alone takes ~200 MiB
    slowCosmosOneWayMs: 100,
    drainTimeoutMs: 180_000,
  });
  assert.equal(violationCount(result), 0, describeViolations(result));
});
