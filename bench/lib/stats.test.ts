import assert from "node:assert/strict";
import { test } from "node:test";
import { median, percentile, summarize } from "./stats.ts";

test("median of odd and even counts, percentiles by nearest rank", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.deepEqual(summarize([5, 1, 9]), { count: 3, p50: 5, p99: 9, max: 9 });
});
