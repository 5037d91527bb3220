// cachedCheck: the first probe waits (a little) for the first answer; later probes answer from the last result.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cachedCheck } from "./cached-check.ts";

/** A dependency call the test answers by hand. */
function controlled() {
  const calls: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const check = () =>
    new Promise<void>((resolve, reject) => {
      calls.push({ resolve, reject });
    });
  return { calls, check };
}

describe("cachedCheck", () => {
  test("the first probe waits for the first check and passes with it (no 'still running' on a fresh start)", async () => {
    const dependency = controlled();
    const readiness = cachedCheck("dep", dependency.check, { firstWaitMs: 10_000 });
    const probe = readiness.check();
    assert.equal(dependency.calls.length, 1, "the probe started the check");
    dependency.calls[0]!.resolve();
    await probe; // resolves: ready on the first probe
  });

  test("prime() starts the first check before any probe, once; the first probe then answers from it", async () => {
    const dependency = controlled();
    const readiness = cachedCheck("dep", dependency.check, { firstWaitMs: 0 });
    readiness.prime();
    readiness.prime();
    assert.equal(dependency.calls.length, 1, "one check started by prime, not two");
    dependency.calls[0]!.resolve();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await readiness.check(); // passes at once (firstWaitMs 0): the primed result is there
    assert.equal(dependency.calls.length, 1, "the probe asked no second time");
  });

  test("the first probe gives up after firstWaitMs and says the check is still running", async () => {
    const dependency = controlled();
    const readiness = cachedCheck("dep", dependency.check, { firstWaitMs: 20 });
    await assert.rejects(Promise.resolve(readiness.check()), /first check still running/);
    dependency.calls[0]!.resolve();
  });

  test("a failing first check fails the first probe with its error", async () => {
    const dependency = controlled();
    const readiness = cachedCheck("dep", dependency.check, { firstWaitMs: 10_000 });
    const probe = Promise.resolve(readiness.check());
    dependency.calls[0]!.reject(new Error("ECONNREFUSED 127.0.0.1:1"));
    await assert.rejects(probe, /ECONNREFUSED 127\.0\.0\.1:1/);
  });

  test("later probes never wait: a refresh that hangs leaves the last result in place", async () => {
    const dependency = controlled();
    const readiness = cachedCheck("dep", dependency.check, { firstWaitMs: 10_000, refreshMs: 0 });
    const first = readiness.check();
    dependency.calls[0]!.resolve();
    await first;
    await readiness.check(); // starts a refresh (refreshMs 0), which never answers, and answers from the last result
    assert.equal(dependency.calls.length, 2);
    await readiness.check(); // still the last result, no second refresh while one runs
    assert.equal(dependency.calls.length, 2);
  });
});
