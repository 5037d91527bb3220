// The shape of the order-chaos tests on a real Redis Cluster (test/redis-cluster/failover and reshard): a stream of
// orders through the API, relays and the three SQS workers while the given Redis faults happen; then every fault
// happened as planned, every order was accepted and no saga invariant is violated.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { runOrderChaos, type OrderChaosOptions } from "./chaos-orders.ts";
import { describeViolations, violationCount } from "./chaos-report.ts";

export async function assertClusterOrderChaos(
  t: TestContext,
  redisFaults: NonNullable<OrderChaosOptions["redisFaults"]>,
  seed: number,
): Promise<void> {
  const orders = Number(process.env.REDIS_CLUSTER_CHAOS_ORDERS ?? 100);
  const result = await runOrderChaos({
    orders,
    ratePerSecond: 10,
    processFaults: 0,
    redisRestart: false,
    redisMode: "cluster",
    redisFaults,
    cancelEvery: 5,
    seed,
    settleTimeoutMs: 180_000,
    progress: (line) => t.diagnostic(line),
  });
  for (const fault of result.faults) t.diagnostic(`${fault.kind} at ${fault.atMs} ms: ${fault.detail}`);
  t.diagnostic(`counts: ${JSON.stringify(result.counts)}`);
  assert.deepEqual(
    result.faults.map((f) => f.kind),
    redisFaults.map((f) => f.fault),
  );
  assert.equal(result.counts.accepted, orders);
  assert.equal(violationCount(result), 0, describeViolations(result));
}
