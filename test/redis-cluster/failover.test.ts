// Orders through the API, relays and the three SQS workers on a real Redis Cluster (3 masters, a replica each) while
// the master of the shared SKU's slot is SIGKILLed (its replica takes over; the node comes back as a replica) and
// later switched by CLUSTER FAILOVER: the saga invariants hold (every order final once, stock moved once, one
// shipment and one notification each, outbox published, DLQs empty).
import assert from "node:assert/strict";
import { test } from "node:test";
import { runOrderChaos } from "../support/chaos/chaos-orders.ts";
import { describeViolations, violationCount } from "../support/chaos/chaos-report.ts";

test("a killed master and a manual failover under a stream of orders: nothing lost, nothing done twice", async (t) => {
  const orders = Number(process.env.REDIS_CLUSTER_CHAOS_ORDERS ?? 100);
  const result = await runOrderChaos({
    orders,
    ratePerSecond: 10,
    processFaults: 0,
    redisRestart: false,
    redisMode: "cluster",
    redisFaults: [
      { fault: "kill-master", at: 0.3 },
      { fault: "manual-failover", at: 0.8 },
    ],
    cancelEvery: 5,
    seed: 19,
    settleTimeoutMs: 180_000,
    progress: (line) => t.diagnostic(line),
  });
  for (const fault of result.faults) t.diagnostic(`${fault.kind} at ${fault.atMs} ms: ${fault.detail}`);
  t.diagnostic(`counts: ${JSON.stringify(result.counts)}`);
  assert.deepEqual(
    result.faults.map((f) => f.kind),
    ["kill-master", "manual-failover"],
  );
  assert.equal(result.counts.accepted, orders);
  assert.equal(violationCount(result), 0, describeViolations(result));
});
