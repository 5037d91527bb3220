// The lifecycle every long-running process shares: bad config exits 2, SIGTERM drains and exits 0, crashes exit non-zero.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { canConnect } from "../dev/stack/managed-process.ts";
import { freePort } from "./support/ports.ts";
import { ROOT } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

function run(script: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, script, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => ({ stdout, stderr }) };
}

const sample = [join(ROOT, "test/support/sample-role.ts")];

describe("role process lifecycle", () => {
  test("a bad REDIS_URL stops the process with exit 2 and one line naming the variable", async () => {
    const proc = run(sample, { REDIS_URL: "localhost:6379" });
    const { code } = await proc.exited;
    assert.equal(code, 2);
    const lines = proc.output().stderr.trim().split("\n");
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /^eventfleet: configuration error: REDIS_URL: got "localhost:6379", expected a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  for (const role of [
    ["api"],
    ["relay"],
    ["worker", "inventory"],
    ["worker", "shipment"],
    ["worker", "notification"],
  ]) {
    test(`eventfleet ${role.join(" ")} with REDIS_URL=not-a-url exits 2 naming REDIS_URL`, async () => {
      const proc = run([join(ROOT, "bin/eventfleet.js"), ...role], { REDIS_URL: "not-a-url" });
      assert.equal((await proc.exited).code, 2);
      assert.match(
        proc.output().stderr,
        /^eventfleet: configuration error: REDIS_URL: got "not-a-url", expected a redis:\/\//m,
      );
    });
  }

  test("SIGTERM drains, closes the management server and exits 0", async () => {
    const port = await freePort();
    const proc = run(sample, { MANAGEMENT_PORT: String(port), SAMPLE_DRAIN_MS: "300" });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
      description: "ready",
    });
    proc.child.kill("SIGTERM");
    const { code } = await proc.exited;
    assert.equal(code, 0);
    assert.match(proc.output().stdout, /"msg":"drained"/);
    assert.match(proc.output().stdout, /"msg":"stopped cleanly"/);
    assert.equal(await canConnect(port), false, "management server must be closed");
  });

  test("readiness answers 503 with check startup until start() has finished, even with no check registered", async () => {
    const port = await freePort();
    const proc = run(sample, { MANAGEMENT_PORT: String(port), SAMPLE_START: "on-sigusr2" });
    try {
      // The management server listens before the component starts: a probe in that window must not pass.
      const starting = await waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return response ? { status: response.status, body: await response.text() } : undefined;
        },
        { description: "the management server answering" },
      );
      assert.equal(starting.status, 503, starting.body);
      assert.match(starting.body, /"check":"startup","error":"starting"/);
      proc.child.kill("SIGUSR2"); // start() finishes
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        description: "ready once started",
      });
    } finally {
      proc.child.kill("SIGKILL");
      await proc.exited;
    }
  });

  test("once ready, the heap is compacted once and the log says what it gave back", async () => {
    const port = await freePort();
    const proc = run(sample, { MANAGEMENT_PORT: String(port) });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        description: "ready",
      });
      const line = await waitFor(
        () =>
          proc
            .output()
            .stdout.split("\n")
            .find((l) => l.includes("heap compacted after start")),
        { description: "the compaction's log line" },
      );
      const { heapMiB, rssMiB, tookMs } = JSON.parse(line) as {
        heapMiB: [number, number];
        rssMiB: [number, number];
        tookMs: number;
      };
      assert.ok(heapMiB[1] < heapMiB[0], `the heap must shrink: ${line}`);
      assert.ok(rssMiB[1] > 0 && tookMs >= 0, line);
      assert.equal(proc.output().stdout.split("heap compacted").length - 1, 1, "once only");
    } finally {
      proc.child.kill("SIGKILL");
      await proc.exited;
    }
  });

  test("readiness turns 503 with check shutdown while draining", async () => {
    const port = await freePort();
    const proc = run(sample, { MANAGEMENT_PORT: String(port), SAMPLE_DRAIN_MS: "5000" });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
      description: "ready",
    });
    proc.child.kill("SIGTERM");
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503, {
      description: "503 while draining",
    });
    proc.child.kill("SIGTERM"); // the second signal exits at once
    const { code } = await proc.exited;
    assert.equal(code, 143);
    assert.match(proc.output().stdout, /second signal: exiting at once/);
  });

  test("a drain longer than SHUTDOWN_TIMEOUT_MS exits 1 and says the budget was exceeded", async () => {
    const port = await freePort();
    const proc = run(sample, {
      MANAGEMENT_PORT: String(port),
      SAMPLE_DRAIN_MS: "60000",
      SHUTDOWN_TIMEOUT_MS: "300",
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
      description: "ready",
    });
    proc.child.kill("SIGTERM");
    assert.equal((await proc.exited).code, 1);
    assert.match(proc.output().stdout, /shutdown budget exceeded/);
  });

  test("an unhandled rejection is logged and exits non-zero", async () => {
    const port = await freePort();
    const proc = run(sample, { MANAGEMENT_PORT: String(port), SAMPLE_CRASH: "rejection" });
    const { code } = await proc.exited;
    assert.equal(code, 1);
    assert.match(proc.output().stdout, /unhandled rejection: boom from sample/);
  });

  test("a management port already in use is a clear error", async () => {
    const port = await freePort();
    const first = run(sample, { MANAGEMENT_PORT: String(port) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, {
      description: "first up",
    });
    const second = run(sample, { MANAGEMENT_PORT: String(port) });
    assert.equal((await second.exited).code, 1);
    assert.match(
      second.output().stderr,
      /cannot start the management server on port \d+.*set MANAGEMENT_PORT to a free port/,
    );
    first.child.kill("SIGTERM");
    assert.equal((await first.exited).code, 0);
  });
});
