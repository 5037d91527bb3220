// Orders through the API, relays and the three SQS workers on a real Redis Cluster while every slot of one master
// (the shared SKU's among them) moves to another master with its keys (redis-cli --cluster reshard, MIGRATE): the
// roles follow MOVED/ASK and the saga invariants hold.
import { test } from "node:test";
import { assertClusterOrderChaos } from "../support/chaos/cluster-order-chaos.ts";

test("slots resharded under a stream of orders: nothing lost, nothing done twice", async (t) => {
  await assertClusterOrderChaos(t, [{ fault: "reshard", at: 0.3 }], 23);
});
