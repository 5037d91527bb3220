// The saga steps' crash points on a real Redis Cluster (3 masters + 3 replicas): each per-SKU script runs in its
// SKU's slot and the order side in the order's slot group; a worker dying after any of them leaves state that a
// redelivery completes, and no script ever spans slots (a CROSSSLOT error would fail the step, and the suite).
import { after, before } from "node:test";
import { Cluster } from "ioredis";
import { LocalRedisCluster } from "../support/redis-cluster.ts";
import { sagaCrashPointSuite } from "../support/saga-crash-suite.ts";

let cluster: LocalRedisCluster;
before(async () => {
  cluster = await LocalRedisCluster.start();
});
after(async () => {
  await cluster?.stop();
});

sagaCrashPointSuite("saga steps under crashes (Redis Cluster, 3 masters)", {
  // Without autopipelining, so that every command passes the suite's crash injection one by one.
  connect: () =>
    new Cluster(
      cluster.seeds
        .split(",")
        .map((seed) => ({ host: seed.split(":")[0]!, port: Number(seed.split(":")[1]) })),
      { redisOptions: { maxRetriesPerRequest: 0 } },
    ),
});
