// Crash points of the saga steps against a real single Redis: a worker that dies after any of its Redis writes (the
// per-SKU scripts and the order-side script of a step) leaves state that a redelivery completes; the invariants then
// hold. The same suite runs on a Redis Cluster in test/redis-cluster/saga-crash-points.test.ts.
import { before } from "node:test";
import { Redis } from "ioredis";
import { sagaCrashPointSuite } from "./support/saga-crash-suite.ts";
import { getStack } from "./support/stack.ts";

let url: string;
before(async () => {
  url = (await getStack()).env.REDIS_URL!;
});

sagaCrashPointSuite("saga steps under crashes (single Redis)", {
  connect: () => new Redis(url, { maxRetriesPerRequest: 0 }),
});
