// A child process the launcher owns: started, waited for until ready, logged to a file, and stopped by PID.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  cwd?: string;
}

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private stdoutLines: string[] = [];

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    mkdirSync(dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: "a" });
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // stdin is a pipe so a child written for it can notice the launcher is gone.
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk: Buffer) => {
      log.write(chunk);
      this.stdoutLines.push(...chunk.toString("utf8").split("\n"));
      if (this.stdoutLines.length > 200) this.stdoutLines.splice(0, this.stdoutLines.length - 200);
    });
    this.child.stderr!.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        log.end();
        resolve(code ?? (signal ? 128 : null));
      });
    });
  }

  /** Lets the owning process exit while this child runs (the owner must stop it from an exit handler). */
  unref(): void {
    this.child.unref();
    for (const stream of [this.child.stdin, this.child.stdout, this.child.stderr]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first stdout line that parses as JSON with `ready: true`. */
  async waitForReadyLine(timeoutMs: number): Promise<Record<string, unknown>> {
    return this.waitUntil(timeoutMs, () => {
      for (const line of this.stdoutLines) {
        if (!line.startsWith("{")) continue;
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (parsed.ready === true) return parsed;
        } catch {
          // a partial line; the rest arrives with the next chunk
        }
      }
      return undefined;
    });
  }

  /** Resolves once something accepts TCP connections on 127.0.0.1:port. */
  async waitForPort(port: number, timeoutMs: number, host = "127.0.0.1"): Promise<void> {
    await this.waitUntil(timeoutMs, async () => ((await canConnect(port, host)) ? true : undefined));
  }

  private async waitUntil<T>(
    timeoutMs: number,
    probe: () => T | undefined | Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running)
        throw new Error(
          `${this.name} exited (code ${this.child.exitCode ?? this.child.signalCode}) before it was ready`,
        );
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready within ${timeoutMs} ms`);
      await delay(50);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
