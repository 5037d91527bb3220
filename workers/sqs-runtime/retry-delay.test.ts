// Retry backoff by receive count, option validation and SDK error classification.

import { test } from "node:test";
import assert from "node:assert/strict";
import { retryDelaySeconds } from "./retry-delay.ts";
import { classifySdkError } from "../../shared/aws-errors.ts";
import { resolveSqsWorkerOptions } from "./sqs-worker-options.ts";

const options = { retryBaseSeconds: 2, retryMaxSeconds: 60 };
const middle = () => 0.5; // no jitter

test("the retry delay doubles per receive and stops at the maximum", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 50].map((attempt) => retryDelaySeconds(attempt, options, undefined, middle)),
    [2, 4, 8, 16, 32, 60, 60, 60],
  );
});

test("jitter stays within ±20 % and a longer Retry-After wins", () => {
  assert.equal(
    retryDelaySeconds(3, options, undefined, () => 0),
    6,
  );
  assert.equal(
    retryDelaySeconds(3, options, undefined, () => 1),
    10,
  );
  assert.equal(retryDelaySeconds(1, options, 30_000, middle), 30);
  assert.equal(retryDelaySeconds(1, options, 3_600_000, middle), 60);
});

test("options get their defaults and impossible combinations are refused with the option named", () => {
  const resolved = resolveSqsWorkerOptions({
    worker: "inventory",
    queueUrl: "http://q/a",
    deadLetterQueueUrl: "http://q/b",
  });
  assert.equal(resolved.batchSize, 10);
  assert.equal(resolved.waitTimeSeconds, 20);
  assert.equal(resolved.maxInFlight, resolved.concurrency * 10);
  assert.ok(resolved.processedMarkerTtlSeconds >= 14 * 24 * 3600);
  assert.throws(
    () =>
      resolveSqsWorkerOptions({
        worker: "x",
        queueUrl: "http://q/a",
        deadLetterQueueUrl: "http://q/b",
        batchSize: 11,
      }),
    /batchSize must be an integer 1-10/,
  );
  assert.throws(
    () =>
      resolveSqsWorkerOptions({
        worker: "x",
        queueUrl: "http://q/a",
        deadLetterQueueUrl: "http://q/b",
        visibilityTimeoutSeconds: 5,
        heartbeatIntervalSeconds: 5,
      }),
    /heartbeatIntervalSeconds/,
  );
});

test("SDK errors are classified in one place", () => {
  const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
  const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED", $metadata: {} });
  const throttled = Object.assign(new Error("slow down"), {
    name: "RequestThrottled",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
  const missing = Object.assign(new Error("no queue"), {
    name: "QueueDoesNotExist",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
  const internal = Object.assign(new Error("oops"), {
    name: "InternalError",
    $fault: "server",
    $metadata: { httpStatusCode: 500 },
  });
  assert.equal(classifySdkError(abort), "aborted");
  assert.equal(classifySdkError(refused), "connection");
  assert.equal(classifySdkError(throttled), "throttling");
  assert.equal(classifySdkError(missing), "permanent");
  assert.equal(classifySdkError(internal), "transient");
});
