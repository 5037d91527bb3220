// Quick API chaos: 1,000 fuzzed requests against an `eventfleet api` process; no 5xx, healthy afterwards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runApiFuzz } from "../support/chaos/chaos-api.ts";
import { describeViolations } from "../support/chaos/chaos-report.ts";
import { RoleRunner } from "../support/role-runner.ts";
import { anyFreePort } from "../../dev/stack/ports.ts";
import { createTestEnv } from "../support/stack.ts";

test("1,000 fuzzed requests: no 5xx, no stack traces, the process stays healthy", async () => {
  const result = await runApiFuzz({ requests: 1000, concurrency: 16, seed: 11 });
  for (const invariant of result.invariants) {
    assert.deepEqual(invariant.violations, [], `${invariant.name}\n${describeViolations(result)}`);
  }
});

test("a path with malformed percent-encoding is answered 400, not 500", async () => {
  const env = await createTestEnv({ aws: false });
  const port = await anyFreePort();
  const api = new RoleRunner({
    name: "api",
    args: ["api", "--relay=off"],
    env: { ...env, API_PORT: String(port) },
  });
  try {
    await api.start();
    await api.waitReady();
    for (const path of ["/v1/orders/%E0%A4%A", "/v1/orders/%/cancel", "/v1/inventory/%"]) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      await response.arrayBuffer();
      assert.equal(response.status, 400, `GET ${path}`);
    }
  } finally {
    await api.stop();
  }
});
