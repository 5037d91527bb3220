// CPU time of processes (by PID, from /proc/<pid>/stat) and of the whole machine (/proc/stat), to say what bounds a
// throughput: a single-threaded process near 1 core is the limit; a machine near all its cores is shared-CPU-bound.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

/** Clock ticks per second of /proc's times (USER_HZ; 100 on every Linux we run, asked once). */
let ticksPerSecond: number | undefined;
function hz(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) in parentheses: utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / hz();
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far, summed over its cores (everything but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [, ...values] = line.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / hz();
}

export const machineCores = (): number => cpus().length;

/** A set of named PIDs whose CPU use is measured over a window: `start()`, the work, then `stop()`. */
export class CpuWindow {
  readonly #pids: () => Record<string, Array<number | undefined>>;
  #before: Record<string, number> = {};
  #machineBefore = 0;
  #selfBefore: NodeJS.CpuUsage = process.cpuUsage();
  #startedAt = 0;

  /** `pids` is asked at start and at stop (a process started in between counts from 0). */
  constructor(pids: () => Record<string, Array<number | undefined>>) {
    this.#pids = pids;
  }

  #read(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.#pids()).map(([name, pids]) => [
        name,
        pids.reduce<number>((sum, pid) => sum + processCpuSeconds(pid), 0),
      ]),
    );
  }

  start(): void {
    this.#before = this.#read();
    this.#machineBefore = machineBusySeconds();
    this.#selfBefore = process.cpuUsage();
    this.#startedAt = performance.now();
  }

  /** CPU seconds per name over the window, `load generator` (this process), the machine's busy seconds and wall. */
  stop(): CpuUse {
    const after = this.#read();
    const self = process.cpuUsage(this.#selfBefore);
    const perProcess: Record<string, number> = {};
    for (const [name, seconds] of Object.entries(after))
      perProcess[name] = round(seconds - (this.#before[name] ?? 0));
    perProcess["load generator (this process)"] = round((self.user + self.system) / 1e6);
    return {
      wallSeconds: round((performance.now() - this.#startedAt) / 1000),
      perProcess,
      machineBusySeconds: round(machineBusySeconds() - this.#machineBefore),
      cores: machineCores(),
    };
  }
}

export interface CpuUse {
  wallSeconds: number;
  /** CPU seconds of each named group of processes over the window. */
  perProcess: Record<string, number>;
  /** Busy CPU seconds of the whole machine (every process of every user) over the window. */
  machineBusySeconds: number;
  cores: number;
}

const round = (n: number) => Math.round(n * 100) / 100;
