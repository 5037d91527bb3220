// Processed markers against the run's real Redis: batched lookups and writes give each event its own answer.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { getStack } from "../../test/support/stack.ts";
import { unreachableRedis } from "../../test/support/unreachable-redis.ts";
import { ProcessedMarkers } from "./processed-markers.ts";

let redis: Redis;
before(async () => {
  redis = new Redis((await getStack()).env.REDIS_URL!);
});
after(() => redis.disconnect());

const TTL = 15 * 24 * 3600;
const markersFor = (client: Redis) =>
  new ProcessedMarkers(client, {
    env: `t-${randomUUID().slice(0, 8)}`,
    worker: "testworker",
    ttlSeconds: TTL,
  });

test("markers written together each exist with the TTL, and lookups together tell marked from unmarked", async () => {
  const markers = markersFor(redis);
  // More than one command's worth (100), so batches are split.
  const ids = Array.from({ length: 150 }, () => randomUUID());
  const marked = ids.filter((_, i) => i % 3 === 0);
  await Promise.all(marked.map((id) => markers.markProcessed(id)));
  for (const id of [marked[0]!, marked.at(-1)!]) {
    const ttl = await redis.ttl(markers.key(id));
    assert.ok(ttl > TTL - 60 && ttl <= TTL, `marker TTL ${ttl}s`);
  }
  assert.equal(await redis.exists(...marked.map((id) => markers.key(id))), marked.length);
  const answers = await Promise.all(ids.map((id) => markers.isProcessed(id)));
  assert.deepEqual(
    answers,
    ids.map((_, i) => i % 3 === 0),
  );
});

test("with Redis unreachable a lookup and a write reject (the runtime then retries the message)", async () => {
  const down = unreachableRedis();
  const markers = markersFor(down);
  await assert.rejects(markers.isProcessed(randomUUID()));
  await assert.rejects(markers.markProcessed(randomUUID()));
  down.disconnect();
});
