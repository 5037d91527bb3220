// A redis-server this run owns, on a fixed port, restarted or crashed as a fault: with AOF on (the default, as
// production must run it) it keeps its data; with persistence off it comes back empty. One node of a test Redis
// Cluster is one of these too (test/support/redis-cluster.ts), started with its cluster arguments.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedProcess } from "../../dev/stack/managed-process.ts";
import { anyFreePort } from "../../dev/stack/ports.ts";

export interface RestartableRedisOptions {
  /** AOF on (default): the data survives a restart or a crash. */
  persistence?: boolean;
  /**
   * AOF fsync policy. "always" (default): a write acknowledged to a client is on disk before a restart, whatever
   * its timing. "everysec" for many nodes on one disk, where losing the last second is not what is tested.
   */
  appendfsync?: "always" | "everysec";
  /** The port, when the caller needs it before start (a cluster node's arguments name it); a free one otherwise. */
  port?: number;
  /** More redis-server arguments (after ours, so they win). */
  extraArgs?: string[];
  /** Names the process in errors and the data directory. */
  name?: string;
}

export class RestartableRedis {
  readonly dataDir: string;
  port: number;
  #process: ManagedProcess | undefined;
  restarts = 0;
  readonly #persistence: boolean;
  readonly #appendfsync: string;
  readonly #extraArgs: string[];
  readonly name: string;

  constructor(options: RestartableRedisOptions = {}) {
    this.#persistence = options.persistence ?? true;
    this.#appendfsync = options.appendfsync ?? "always";
    this.#extraArgs = options.extraArgs ?? [];
    this.port = options.port ?? 0;
    this.name = options.name ?? "chaos-redis";
    this.dataDir = mkdtempSync(join(tmpdir(), `eventfleet-${this.name}-`));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The server's PID while it runs (what a fault kills), undefined when it is down. */
  get pid(): number | undefined {
    return this.#process?.running ? this.#process.pid : undefined;
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await anyFreePort();
    this.#process = new ManagedProcess({
      name: `${this.name} (port ${this.port})`,
      command: "redis-server",
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
        this.#appendfsync,
        "--dir",
        this.dataDir,
        ...this.#extraArgs,
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
    await this.kill();
    await this.start();
    this.restarts += 1;
    return performance.now() - started;
  }

  /** SIGKILLs the server by its PID and waits for it to exit; it stays down until `start()`. */
  async kill(): Promise<void> {
    const pid = this.pid;
    if (pid !== undefined) process.kill(pid, "SIGKILL");
    await this.#process?.stop(10_000);
  }

  async stop(): Promise<void> {
    await this.#process?.stop(5000);
  }

  /** Deletes the data directory (logs, AOF); call after `stop()`. */
  removeDataDir(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
