// Watches a Redis connection: says why it is down ("ECONNREFUSED at host:port") in readiness and in one log line (a
// reminder at most once a minute, no stack), and refuses a REDIS_URL whose database index the server lacks, where
// ioredis would log the failed SELECT and carry on in database 0. On a Redis Cluster: the cluster's state must be ok.
import { Cluster, type Redis } from "ioredis";
import { ConfigError } from "./config.ts";
import type { Logger } from "./logger.ts";

export interface RedisHealthOptions {
  /** While Redis stays down, repeat the log line this often at most. Default 60 s: a minute of silence is enough. */
  remindEveryMs?: number;
  /** How the target is named in logs and readiness; default the connection's host:port. */
  where?: string;
}

/** ioredis' reply to SELECT of a database the server does not have (Redis 6/7 wording, and older). */
const NO_SUCH_DATABASE = /DB index is out of range|invalid DB index/i;

export class RedisHealth {
  readonly #redis: Redis | Cluster;
  readonly #logger: Logger;
  readonly #remindEveryMs: number;
  readonly #where: string;
  /** Why the connection is down, or undefined while it works. */
  #down: { cause: string; since: number; loggedAt: number } | undefined;
  /** Set once SELECT failed: a configuration error, not an outage, so readiness never recovers by itself. */
  #misconfigured: string | undefined;

  constructor(redis: Redis | Cluster, logger: Logger, options: RedisHealthOptions = {}) {
    this.#redis = redis;
    this.#logger = logger;
    this.#remindEveryMs = options.remindEveryMs ?? 60_000;
    this.#where = options.where ?? RedisHealth.#address(redis);
    redis.on("error", (error: NodeJS.ErrnoException) => this.#failed(error));
    redis.on("ready", () => this.#recovered());
  }

  static #address(redis: Redis | Cluster): string {
    if (redis instanceof Cluster) return "Redis Cluster";
    const { host, port, path } = redis.options;
    return `Redis at ${path ?? `${host ?? "127.0.0.1"}:${port ?? 6379}`}`;
  }

  /** The database index REDIS_URL selects (0 when it names none; always 0 on a cluster, which has no other). */
  get database(): number {
    return this.#redis instanceof Cluster ? 0 : (this.#redis.options.db ?? 0);
  }

  /** Readiness: throws with the real cause while Redis is unreachable or misconfigured. */
  async check(): Promise<void> {
    if (this.#misconfigured) throw new Error(this.#misconfigured);
    if (this.#redis.status !== "ready") {
      throw new Error(
        this.#down
          ? `${this.#where} unreachable: ${this.#down.cause}`
          : `${this.#where} not connected yet (${this.#redis.status})`,
      );
    }
    if (this.#redis instanceof Cluster) {
      // A cluster with uncovered slots (a master down, no replica to promote) refuses part of the keyspace.
      const info = String(await this.#redis.cluster("INFO"));
      const state = /cluster_state:(\w+)/.exec(info)?.[1];
      if (state !== "ok") throw new Error(`${this.#where}: cluster_state is ${state ?? "unknown"}, not ok`);
      return;
    }
    await this.#redis.ping();
  }

  /**
   * At start: a REDIS_URL naming a database this Redis does not have is a ConfigError (exit 2), found by selecting
   * it once connected. Redis still down after `timeoutMs`: nothing to say yet (readiness reports the outage, and the
   * SELECT on reconnect marks the process not ready if the index is wrong).
   */
  async verifyDatabase(timeoutMs = 5000): Promise<void> {
    if (this.database === 0) return;
    if (this.#redis.status !== "ready") {
      const ready = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.#redis.once("ready", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!(await ready)) return;
    }
    try {
      await this.#redis.select(this.database);
    } catch (error) {
      if (NO_SUCH_DATABASE.test((error as Error).message)) throw this.#noSuchDatabase(error as Error);
      throw error;
    }
    if (this.#misconfigured) throw new ConfigError("REDIS_URL", this.#misconfigured);
  }

  #noSuchDatabase(error: Error): ConfigError {
    const message =
      `REDIS_URL: got database ${this.database}, which the ${this.#where} does not have ` +
      `(${error.message}); use an index it has: 0-15 unless redis.conf sets 'databases' ` +
      "(Redis Cluster and most managed Redis offer only 0)";
    this.#misconfigured = message;
    return new ConfigError("REDIS_URL", message);
  }

  #failed(error: NodeJS.ErrnoException): void {
    if (NO_SUCH_DATABASE.test(error.message)) {
      if (!this.#misconfigured) this.#logger.error(this.#noSuchDatabase(error).message);
      return;
    }
    // A cluster client that reached no node says only "Failed to refresh slots cache": the last node's error is why.
    const last = (error as { lastNodeError?: Error }).lastNodeError;
    const message = last ? `${error.message} ${last.message}` : error.message;
    const cause = error.code ? `${error.code} (${message})` : message;
    const now = Date.now();
    const down = this.#down;
    if (!down || down.cause !== cause) {
      this.#down = { cause, since: down?.since ?? now, loggedAt: now };
      this.#logger.warn(
        { redis: this.#where, code: error.code },
        `${this.#where} unreachable: ${cause}; reconnecting (not ready until it answers)`,
      );
    } else if (now - down.loggedAt >= this.#remindEveryMs) {
      down.loggedAt = now;
      this.#logger.warn(
        { redis: this.#where, code: error.code, downForMs: now - down.since },
        `${this.#where} still unreachable after ${Math.round((now - down.since) / 1000)} s: ${cause}`,
      );
    }
  }

  #recovered(): void {
    if (!this.#down) return;
    this.#logger.info(
      { redis: this.#where, downForMs: Date.now() - this.#down.since },
      `${this.#where} reachable again`,
    );
    this.#down = undefined;
  }
}
