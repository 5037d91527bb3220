// A second `eventfleet dev` in the same checkout finds the running stack and leaves it (and stack.env) alone.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { ROOT } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

test("a second eventfleet dev on the same state directory says a stack runs there, and starts nothing", async () => {
  const stateDir = mkdtempSync(join(tmpdir(), "eventfleet-dev-lock-"));
  const args = [
    join(ROOT, "bin/eventfleet.js"),
    "dev",
    "--emulators-only",
    "--any-ports",
    "--state-dir",
    stateDir,
    "--env",
    "locktest",
  ];
  const first = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  first.stdout.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => first.once("exit", (code) => resolve(code)));
  try {
    await waitFor(() => output.includes("Ctrl-C stops everything."), {
      timeoutMs: 90_000,
      description: "the first stack's summary",
    });
    const envFile = join(stateDir, "stack.env");
    const envBefore = readFileSync(envFile, "utf8");

    const second = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    assert.equal(second.status, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(
        `a stack is already running from .* \\(pid ${first.pid}, started .*\\); not starting another`,
      ),
    );
    assert.match(second.stderr, /use it: +set -a; \. .*stack\.env; set \+a/);
    assert.match(second.stderr, new RegExp(`kill ${first.pid}`));
    assert.doesNotMatch(second.stdout, /starting the emulators/);
    assert.equal(readFileSync(envFile, "utf8"), envBefore, "stack.env still describes the first stack");
    // The emulators listed once: in the summary, not also in the start-up progress.
    assert.equal(output.match(/^ +redis\b/gm)?.length, 1, output);
  } finally {
    first.kill("SIGTERM");
  }
  assert.equal(await exited, 0);
  assert.equal(existsSync(join(stateDir, "dev.lock")), false, "the lock is released on stop");
});
