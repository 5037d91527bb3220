// One `eventfleet dev` per state directory: a lock file naming the launcher's pid, so a second one finds the first.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Who holds a state directory: what a second launcher tells its user. */
export interface StackLockHolder {
  pid: number;
  startedAt: string;
}

export type StackLock = { acquired: true; release(): void } | { acquired: false; holder: StackLockHolder };

export const lockFile = (stateDir: string) => join(stateDir, "dev.lock");

/** Whether `pid` is a live process that is still an eventfleet launcher (not an unrelated process reusing the pid). */
function isRunningLauncher(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but someone else's; ESRCH: gone.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("eventfleet");
  } catch {
    return true; // no /proc to ask: believe the lock
  }
}

function readHolder(file: string): StackLockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, "utf8")) as Partial<StackLockHolder>;
    return typeof holder.pid === "number"
      ? { pid: holder.pid, startedAt: String(holder.startedAt) }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the state directory for this process, or says who has it. A lock left by a launcher that died (killed, or
 * its machine rebooted) is taken over. Creating the file with `wx` makes two launchers starting together safe.
 */
export function acquireStackLock(stateDir: string): StackLock {
  mkdirSync(stateDir, { recursive: true });
  const file = lockFile(stateDir);
  const mine: StackLockHolder = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(mine)}\n`, { flag: "wx" });
      let released = false;
      return {
        acquired: true,
        release: () => {
          if (released) return;
          released = true;
          if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(file);
    if (holder && isRunningLauncher(holder.pid)) return { acquired: false, holder };
    rmSync(file, { force: true }); // stale: its launcher is gone
  }
  const holder = readHolder(file);
  if (holder) return { acquired: false, holder };
  throw new Error(`cannot take the lock ${file}: another launcher keeps replacing it`);
}
