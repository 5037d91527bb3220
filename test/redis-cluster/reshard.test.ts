// Orders through the API, relays and the three SQS workers on a real Redis Cluster while every slot of one master
// (the shared SKU's among them) moves to another master with its keys (redis-cli --cluster reshard, MIGRATE): the
// roles follow MOVED/ASK and the saga invariants hold.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runOrderChaos } from "../support/chaos/chaos-orders.ts";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";

test("slots resharded under a stream of orders: nothing lost, nothing done twice", async (t) => {
  const orders = Number(process.env.REDIS_CLUSTER_CHAOS_ORDERS ?? 100);
  const result = await runOrderChaos({
    orders,
    ratePerSecond: 10,
    processFaults: 0,
    redisRestart: false,
    redisMode: "cluster",
    redisFaults: [{ fault: "reshard", at: 0.3 }],
    cancelEvery: 5,
    seed: 23,
    settleTimeoutMs: 180_000,
    progress: (line) => t.diagnostic(line),
  });
  for (const fault of result.faults) t.diagnostic(`${fault.kind} at ${fault.atMs} ms: ${fault.detail}`);
  t.diagnostic(`counts: ${JSON.stringify(result.counts)}`);
  assert.deepEqual(
    result.faults.map((f) => f.kind),
    ["reshard"],
  );
  assert.equal(result.counts.accepted, orders);
  assert.equal(violationCount(result), 0, describeViolations(result));
});
