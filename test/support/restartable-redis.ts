// A redis-server this run owns, on a fixed port, restarted or crashed as a fault: with AOF on (the default, as
// production must run it) it keeps its data; with persistence off it comes back empty.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedProcess } from "../../dev/stack/managed-process.ts";
import { anyFreePort } from "../../dev/stack/ports.ts";

export class RestartableRedis {
  readonly dataDir = mkdtempSync(join(tmpdir(), "eventfleet-chaos-redis-"));
  port = 0;
  #process: ManagedProcess | undefined;
  restarts = 0;
  readonly #persistence: boolean;

  constructor(options: { persistence?: boolean } = {}) {
    this.#persistence = options.persistence ?? true;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await anyFreePort();
    this.#process = new ManagedProcess({
      name: "chaos-redis",
      command: "redis-server",
      // appendfsync always: a write acknowledged to a client is on disk before the restart, whatever its timing.
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        this.#persistence ? "yes" : "no",
        "--appendfsync",
        "always",
        "--dir",
        this.dataDir,
      ],
      logFile: join(this.dataDir, "redis.log"),
    });
    await this.#process.waitForPort(this.port, 30_000);
  }

  /** Stops the server (SIGTERM: clean shutdown) and starts it again on the same port and data directory. */
  async restart(): Promise<number> {
    const started = performance.now();
    await this.#process?.stop(10_000);
    await this.start();
    this.restarts += 1;
    return performance.now() - started;
  }

  /** SIGKILLs the server (a crash, a node lost) and starts it again on the same port and data directory. */
  async crash(): Promise<number> {
    const started = performance.now();
    const pid = this.#process?.pid;
    if (pid !== undefined) process.kill(pid, "SIGKILL");
    await this.#process?.stop(10_000);
    await this.start();
    this.restarts += 1;
    return performance.now() - started;
  }

  async stop(): Promise<void> {
    await this.#process?.stop(5000);
  }
}
