import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { acquireStackLock, lockFile } from "./stack-lock.ts";

const children: ChildProcess[] = [];
/** A live process whose command line says `marker`; ended by its pid after the tests. */
function liveProcess(marker: string): number {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", marker], { stdio: "ignore" });
  children.push(child);
  return child.pid!;
}

const stateDir = () => mkdtempSync(join(tmpdir(), "eventfleet-lock-"));
const writeLock = (dir: string, pid: number) =>
  writeFileSync(lockFile(dir), JSON.stringify({ pid, startedAt: "2026-01-01T00:00:00.000Z" }));

describe("stack lock", () => {
  after(() => {
    for (const child of children) child.kill();
  });

  test("the first launcher takes the state directory; a second one is told who has it", () => {
    const dir = stateDir();
    const first = acquireStackLock(dir);
    assert.equal(first.acquired, true);
    const second = acquireStackLock(dir);
    assert.deepEqual(second.acquired ? "acquired" : second.holder.pid, process.pid);
    if (first.acquired) first.release();
    assert.equal(existsSync(lockFile(dir)), false, "released: the lock file is gone");
    assert.equal(acquireStackLock(dir).acquired, true, "free again after release");
  });

  test("a lock held by a running eventfleet launcher is respected", () => {
    const dir = stateDir();
    const pid = liveProcess("eventfleet-dev-stand-in");
    writeLock(dir, pid);
    const lock = acquireStackLock(dir);
    assert.equal(lock.acquired, false);
    assert.equal(!lock.acquired && lock.holder.pid, pid);
  });

  test("a lock left by a dead launcher, or whose pid now belongs to another program, is taken over", async () => {
    const gone = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => gone.once("exit", resolve));
    for (const pid of [gone.pid!, liveProcess("an-unrelated-program")]) {
      const dir = stateDir();
      writeLock(dir, pid);
      const lock = acquireStackLock(dir);
      assert.equal(lock.acquired, true, `stale lock of pid ${pid} taken over`);
      if (lock.acquired) lock.release();
    }
  });
});
