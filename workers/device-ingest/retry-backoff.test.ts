import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { backoffMs, pause, RetryAbandonedError } from "./retry-backoff.ts";

const policy = { baseMs: 100, maxMs: 1000 };

describe("backoffMs", () => {
  test("doubles per attempt up to the maximum", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 20].map((a) => backoffMs(policy, a, undefined, () => 0)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  test("jitter only shortens, by at most a fifth", () => {
    assert.equal(
      backoffMs(policy, 3, undefined, () => 1),
      320,
    );
  });

  test("a Retry-After from the service wins, even above the maximum", () => {
    assert.equal(
      backoffMs(policy, 1, 5000, () => 0),
      5000,
    );
    assert.equal(
      backoffMs(policy, 4, 10, () => 0),
      800,
    );
  });
});

describe("pause", () => {
  test("an abort ends the wait with RetryAbandonedError", async () => {
    const controller = new AbortController();
    const waiting = pause(60_000, controller.signal);
    controller.abort();
    await assert.rejects(waiting, RetryAbandonedError);
  });
});
