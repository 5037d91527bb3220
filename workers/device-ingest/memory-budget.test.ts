import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { containerMemoryLimit, receiveSizing } from "./memory-budget.ts";

test("the container's memory limit is read from cgroup v2 or v1; 'max' or a huge v1 value means none", () => {
  const dir = mkdtempSync(join(tmpdir(), "cgroup-"));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  assert.equal(containerMemoryLimit([file("v2", "536870912\n")]), 512 * 1024 * 1024);
  assert.equal(containerMemoryLimit([join(dir, "absent"), file("v1", "268435456\n")]), 256 * 1024 * 1024);
  assert.equal(containerMemoryLimit([file("max", "max\n")]), undefined);
  assert.equal(containerMemoryLimit([file("v1-unlimited", "9223372036854771712\n")]), undefined);
});

test("in a 512 MiB pod, batch and prefetch of 256 KiB events across 4 partitions fit half the limit", () => {
  const limit = 512 * 1024 * 1024;
  const sizing = receiveSizing({
    memoryLimitBytes: limit,
    eventBufferShare: 0.5,
    partitions: 4,
    maxEventBytes: 256 * 1024,
    maxBatchSize: 500,
  });
  assert.ok(sizing.maxBatchSize < 500 && sizing.maxBatchSize >= 1);
  assert.equal(sizing.prefetchCount, sizing.maxBatchSize);
  assert.ok(sizing.worstCaseBytes <= limit / 2, `${sizing.worstCaseBytes} bytes buffered at worst`);
});

test("without a limit the configured batch stands and one batch is prefetched (not the SDK's three)", () => {
  const sizing = receiveSizing({
    memoryLimitBytes: undefined,
    eventBufferShare: 0.5,
    partitions: 4,
    maxEventBytes: 256 * 1024,
    maxBatchSize: 500,
  });
  assert.deepEqual([sizing.maxBatchSize, sizing.prefetchCount], [500, 500]);
});
