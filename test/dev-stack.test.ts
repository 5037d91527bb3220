// `eventfleet dev --emulators-only`: comes up, writes stack.env, and leaves no process behind after SIGTERM.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readStackEnv } from "../dev/stack/stack-env.ts";
import { ROOT } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("eventfleet dev --emulators-only provisions, writes stack.env, and SIGTERM stops every process it started", async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "eventfleet-dev-test-"));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin/eventfleet.js"),
      "dev",
      "--emulators-only",
      "--any-ports",
      "--state-dir",
      stateDir,
      "--env",
      "devtest",
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(() => output.includes("Ctrl-C stops everything."), {
    timeoutMs: 60_000,
    description: "the dev summary",
  });

  const env = readStackEnv(join(stateDir, "stack.env"));
  for (const name of [
    "REDIS_URL",
    "AWS_ENDPOINT_URL",
    "ORDERS_TOPIC_ARN",
    "INVENTORY_QUEUE_URL",
    "NOTIFICATION_DLQ_URL",
    "STORAGE_CONNECTION_STRING",
    "COSMOS_ENDPOINT",
  ]) {
    assert.ok(env[name], `${name} in stack.env`);
  }
  assert.match(env.ORDERS_TOPIC_ARN!, /:devtest-orders$/);
  const pids = (JSON.parse(readFileSync(join(stateDir, "stack.pids.json"), "utf8")) as { pid: number }[]).map(
    (p) => p.pid,
  );
  assert.ok(pids.length >= 4);
  assert.ok(pids.every(alive));

  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.match(output, /eventfleet dev: stopped/);
  await waitFor(() => pids.every((pid) => !alive(pid)), {
    timeoutMs: 10_000,
    description: "every stack process gone",
  });
  assert.ok(existsSync(join(stateDir, "logs")));
});
