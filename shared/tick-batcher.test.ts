// TickBatcher: requests of one tick share a call, in chunks of at most `max`; a failed call fails its batch only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TickBatcher } from "./tick-batcher.ts";

test("requests made in the same tick share one call and each gets its own result", async () => {
  const calls: number[][] = [];
  const batcher = new TickBatcher<number, number>(
    async (items) => {
      calls.push(items);
      return Promise.resolve(items.map((n) => n * 10));
    },
    { max: 10 },
  );
  const results = await Promise.all([1, 2, 3].map((n) => batcher.request(n)));
  assert.deepEqual(results, [10, 20, 30]);
  assert.deepEqual(calls, [[1, 2, 3]]);
  // A later tick is a new batch.
  assert.equal(await batcher.request(4), 40);
  assert.deepEqual(calls, [[1, 2, 3], [4]]);
});

test("more than max requests in a tick go out in chunks of max, in order", async () => {
  const calls: number[][] = [];
  const batcher = new TickBatcher<number, number>(
    async (items) => {
      calls.push(items);
      return Promise.resolve(items);
    },
    { max: 10 },
  );
  const items = Array.from({ length: 25 }, (_, i) => i);
  assert.deepEqual(await Promise.all(items.map((n) => batcher.request(n))), items);
  assert.deepEqual(
    calls.map((c) => c.length),
    [10, 10, 5],
  );
  assert.deepEqual(calls.flat(), items);
});

test("a failed call rejects the requests of its batch only", async () => {
  let call = 0;
  const batcher = new TickBatcher<string, string>(
    async (items) => {
      call++;
      if (call === 1) throw new Error("store down");
      return Promise.resolve(items.map((s) => s.toUpperCase()));
    },
    { max: 2 },
  );
  const settled = await Promise.allSettled(["a", "b", "c"].map((s) => batcher.request(s)));
  assert.deepEqual(
    settled.map((s) => (s.status === "fulfilled" ? s.value : (s.reason as Error).message)),
    ["store down", "store down", "C"],
  );
});

test("a call answering the wrong number of results rejects its batch instead of mismatching them", async () => {
  const batcher = new TickBatcher<number, number>(async () => Promise.resolve([1]), { max: 5 });
  await assert.rejects(Promise.all([batcher.request(1), batcher.request(2)]), /a batch of 2 got 1 results/);
  assert.throws(() => new TickBatcher(async () => Promise.resolve([]), { max: 0 }), /positive integer/);
});
