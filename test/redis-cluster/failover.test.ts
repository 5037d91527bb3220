// Orders through the API, relays and the three SQS workers on a real Redis Cluster (3 masters, a replica each) while
// the master of the shared SKU's slot is SIGKILLed (its replica takes over; the node comes back as a replica) and
// later switched by CLUSTER FAILOVER: the saga invariants hold (every order final once, stock moved once, one
// shipment and one notification each, outbox published, DLQs empty).
import { test } from "node:test";
import { assertClusterOrderChaos } from "../support/chaos/cluster-order-chaos.ts";

test("a killed master and a manual failover under a stream of orders: nothing lost, nothing done twice", async (t) => {
  await assertClusterOrderChaos(
    t,
    [
      { fault: "kill-master", at: 0.3 },
      { fault: "manual-failover", at: 0.8 },
    ],
    19,
  );
});
