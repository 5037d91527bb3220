// The one backoff formula: doubling from base, capped, jittered within the policy's range.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "./backoff.ts";

test("doubles per attempt from base and stops at max; attempt 0 counts as the first", () => {
  const policy = { base: 100, max: 1000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 40].map((attempt) => backoffDelay(policy, attempt)),
    [100, 100, 200, 400, 800, 1000, 1000],
  );
});

test("the jitter factor runs from `from` (random 0) to `to` (random 1), in either direction", () => {
  const spread = { base: 10, max: 100, jitter: [0.8, 1.2] as const };
  assert.equal(
    backoffDelay(spread, 1, () => 0),
    8,
  );
  assert.equal(
    backoffDelay(spread, 1, () => 1),
    12,
  );
  const shortenOnly = { base: 10, max: 100, jitter: [1, 0.8] as const };
  assert.equal(
    backoffDelay(shortenOnly, 1, () => 0),
    10,
  );
  assert.equal(
    backoffDelay(shortenOnly, 1, () => 1),
    8,
  );
});
