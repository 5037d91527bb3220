// A role (`eventfleet api|relay|worker <name>`) as its own process, like a pod: spawn, ready probe, signals, restart.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { anyFreePort } from "../../dev/stack/ports.ts";

import { ROOT } from "./repo-root.ts";

export { ROOT };

export interface RoleRunnerOptions {
  /** A short name for reports, e.g. `inventory-1`. */
  name: string;
  /** Arguments after `eventfleet`, e.g. `["worker", "inventory"]`. */
  args: string[];
  env: Record<string, string>;
  /** Extra arguments for node itself (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** The CLI to run: the sources' bin/eventfleet.js (default) or a bundle's eventfleet.js (scripts/bundle.ts). */
  entry?: string;
}

export interface RoleExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One role process; `restart()` starts a fresh process with the same options (a new PID, as Kubernetes would). */
export class RoleRunner {
  readonly name: string;
  readonly #options: RoleRunnerOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<RoleExit> = Promise.resolve({ code: null, signal: null });
  #output: string[] = [];
  managementPort = 0;
  /** performance.now() at spawn, for start-to-ready timings. */
  spawnedAt = 0;
  starts = 0;

  constructor(options: RoleRunnerOptions) {
    this.name = options.name;
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get exited(): Promise<RoleExit> {
    return this.#exited;
  }

  get managementUrl(): string {
    return `http://127.0.0.1:${this.managementPort}`;
  }

  /** The last lines the process wrote, for failure messages. */
  tail(lines = 20): string {
    return this.#output.slice(-lines).join("\n");
  }

  async start(): Promise<void> {
    this.managementPort = await anyFreePort();
    this.spawnedAt = performance.now();
    this.starts += 1;
    const child = spawn(
      process.execPath,
      [
        ...(this.#options.nodeArgs ?? []),
        this.#options.entry ?? join(ROOT, "bin/eventfleet.js"),
        ...this.#options.args,
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          LOG_LEVEL: "warn",
          ...this.#options.env,
          MANAGEMENT_PORT: String(this.managementPort),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.#child = child;
    this.#output = [];
    const collect = (chunk: Buffer) => {
      this.#output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (this.#output.length > 300) this.#output.splice(0, this.#output.length - 300);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    this.#exited = new Promise((resolveExit) =>
      child.once("exit", (code, signal) => resolveExit({ code, signal })),
    );
  }

  /** Polls /readyz until 200; returns ms from spawn to the first 200. */
  async waitReady(timeoutMs = 90_000, intervalMs = 25): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.tail()}`);
      try {
        const response = await fetch(`${this.managementUrl}/readyz`);
        await response.arrayBuffer();
        if (response.status === 200) return performance.now() - this.spawnedAt;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.tail()}`);
      await delay(intervalMs);
    }
  }

  /** Resident set size in bytes, from /proc (Linux). */
  rssBytes(): number {
    const pid = this.pid;
    if (pid === undefined) return 0;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child!.kill(signal);
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it is still there. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 30_000): Promise<RoleExit> {
    if (!this.running) return this.#exited;
    this.#child!.kill(signal);
    const timer = setTimeout(() => this.#child?.kill("SIGKILL"), graceMs);
    const exit = await this.#exited;
    clearTimeout(timer);
    return exit;
  }

  /** A sum over every sample of a metric on /metrics whose labels include `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${this.managementUrl}/metrics`)).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (wanted.every((w) => line.includes(w))) sum += Number(line.split(" ").pop());
    }
    return sum;
  }
}
