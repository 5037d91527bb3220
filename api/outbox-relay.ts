// The outbox relay: moves events from the Redis outbox stream to SNS, acknowledging each only once SNS has it.
//
// At-least-once: an entry is XACKed only after SNS accepted it, so a relay that dies between reading and
// publishing leaves the entry pending; another relay takes it over after `claimIdleMs` (XAUTOCLAIM) and
// publishes it again. A duplicate carries the same CloudEvent id, which consumers deduplicate on.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { duplicateClient, type RedisClient } from "../shared/redis-connection.ts";
import type { Registry } from "prom-client";
import type { Component } from "../shared/component.ts";
import { errorMessage } from "../shared/errors.ts";
import type { ReadinessCheck } from "../shared/management-server.ts";
import type { Logger } from "../shared/logger.ts";
import { backoffDelay } from "../shared/backoff.ts";
import { parseOutboxEntry, type OutboxEntry } from "../shared/orders/outbox-entry.ts";
import { redisKeys } from "../shared/redis-keys.ts";
import { startSendSpans } from "../shared/telemetry/messaging-spans.ts";
import { ORDERS_DESTINATION } from "../shared/telemetry/order-spans.ts";
import { readOutboxBacklog, trimAcknowledged } from "./outbox-backlog.ts";
import { OUTBOX_RELAY_DEFAULTS, type OutboxRelayTuning } from "./outbox-relay-options.ts";
import { relayMetrics } from "./relay-metrics.ts";
import { isTransientSdkError } from "../shared/aws-errors.ts";

/** The relay retries with its own backoff, so one SDK attempt, and it must notice an unreachable SNS within seconds. */
export const RELAY_SNS_TUNING = {
  maxAttempts: 1,
  connectionTimeoutMs: 2000,
  requestTimeoutMs: 10_000,
} as const;

export const RELAY_GROUP = "relay";

export interface OutboxRelayOptions extends Partial<OutboxRelayTuning> {
  /** For acknowledgements, claims, trimming and metrics; the relay opens its own blocking reader from it. */
  redis: RedisClient;
  sns: SNSClient;
  topicArn: string;
  /** EVENTFLEET_ENV: which outbox stream. */
  env: string;
  logger: Logger;
  registry: Registry;
  /** Name of this relay in the consumer group; default `<hostname>-<pid>-<random>`, unique per process. */
  consumer?: string;
}

type StreamEntry = [id: string, fields: string[] | null];

export class OutboxRelay implements Component {
  readonly consumer: string;
  readonly #o: Required<Omit<OutboxRelayOptions, "consumer">>;
  readonly #stream: string;
  /** A connection of the relay's own, as XREADGROUP BLOCK holds it for up to blockMs. */
  readonly #reader: RedisClient;
  readonly #metrics: ReturnType<typeof relayMetrics>;
  /** Entries this relay read but SNS has not accepted yet (they stay pending in Redis meanwhile). */
  #retry: OutboxEntry[] = [];
  #claimCursor = "0-0";
  #lastClaimAt = 0;
  #lastTrimAt = 0;
  #lastLoopAt = Date.now();
  /** Last time the relay published something or found the outbox empty: what a stall is measured from. */
  #lastProgressAt = Date.now();
  #failures = 0;
  #groupReady = false;
  #running: Promise<void> | undefined;
  readonly #stopping = new AbortController();

  constructor(options: OutboxRelayOptions) {
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = { ...OUTBOX_RELAY_DEFAULTS, ...given } as Required<Omit<OutboxRelayOptions, "consumer">>;
    this.#stream = redisKeys(options.env).outbox;
    this.#reader = duplicateClient(options.redis, { commandTimeout: this.#o.blockMs + 5000 });
    this.#reader.on("error", () => {}); // reconnects by itself; the loop logs the failed reads
    this.#metrics = relayMetrics(
      options.registry,
      async () => {
        try {
          const backlog = await readOutboxBacklog(this.#o.redis, this.#stream, RELAY_GROUP);
          this.#metrics.pending.set(backlog.unacknowledged);
          this.#metrics.oldestAge.set(backlog.oldestAgeSeconds);
        } catch {
          // Redis unreachable: keep the last values; readiness reports the outage.
        }
      },
      () => this.#stallReason() !== undefined,
    );
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops reading; entries read but not yet published stay pending and are taken over by another relay. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
    this.#reader.disconnect();
  }

  /**
   * Readiness of a relay that runs alone: throws when the loop has not gone round, or has published nothing while
   * the outbox holds entries, for `stallAfterMs`. (The API does not use it: it accepts orders whatever SNS does.)
   */
  checkHealthy(): void {
    const reason = this.#stallReason();
    if (reason) throw new Error(reason);
  }

  /** Readiness of a relay that runs alone: its loop is not stalled (its Redis: the role's connection check). */
  readinessChecks(): ReadinessCheck[] {
    return [{ name: "relay", check: () => this.checkHealthy() }];
  }

  #stallReason(): string | undefined {
    const now = Date.now();
    const loopIdleMs = now - this.#lastLoopAt;
    if (loopIdleMs > this.#o.stallAfterMs) return `relay loop stalled for ${Math.round(loopIdleMs / 1000)} s`;
    const stuckMs = now - this.#lastProgressAt;
    if (stuckMs > this.#o.stallAfterMs)
      return `outbox stalled: nothing published for ${Math.round(stuckMs / 1000)} s while entries wait (see the relay's log)`;
    return undefined;
  }

  async #loop(): Promise<void> {
    const { logger } = this.#o;
    logger.info({ consumer: this.consumer, stream: this.#stream }, "outbox relay started");
    // Started together with its connections: the first commands must not fail (and warn) just for that.
    await Promise.all([this.#connected(this.#o.redis), this.#connected(this.#reader)]);
    while (!this.#stopping.signal.aborted) {
      this.#lastLoopAt = Date.now();
      try {
        await this.#ensureGroup();
        const batch = await this.#nextBatch();
        if (batch.length > 0) await this.#publish(batch);
        else this.#lastProgressAt = Date.now();
        await this.#maybeTrim();
        if (this.#retry.length === 0) this.#failures = 0;
      } catch (error) {
        this.#failures += 1;
        if (errorMessage(error).includes("NOGROUP")) {
          // Redis lost the stream or the group (a failover to an empty replica, a flush, no persistence): the
          // entries we held are gone with it; recreate the group so orders placed from now on are published.
          this.#groupReady = false;
          this.#retry = [];
          this.#claimCursor = "0-0";
          logger.error(
            { consumer: this.consumer, stream: this.#stream },
            "outbox consumer group missing: Redis lost its data (run Redis with persistence and noeviction); recreating it",
          );
        } else if (this.#o.redis.status === "ready" && this.#reader.status === "ready") {
          // Only while Redis is up: when it is down, its connection's watcher says so once, with the cause
          // (a stack per backoff would bury that).
          logger.warn({ err: error, consumer: this.consumer }, `outbox relay: ${errorMessage(error)}`);
        }
      }
      if (this.#failures > 0) await this.#backoff();
    }
    logger.info({ consumer: this.consumer, unpublished: this.#retry.length }, "outbox relay stopped");
  }

  /** Waits until `redis` is ready, for at most a connect timeout; after that the loop's own retries take over. */
  async #connected(redis: RedisClient): Promise<void> {
    if (redis.status === "ready") return;
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(5000)]);
    await once(redis, "ready", { signal }).catch(() => undefined);
  }

  async #backoff(): Promise<void> {
    const { backoffInitialMs, backoffMaxMs } = this.#o;
    // Jitter (half to all of the pause) spreads several relays' retries apart.
    const ms = backoffDelay({ base: backoffInitialMs, max: backoffMaxMs, jitter: [0.5, 1] }, this.#failures);
    await sleep(ms, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
  }

  async #ensureGroup(): Promise<void> {
    if (this.#groupReady) return;
    try {
      // From id 0: entries written before any relay existed are published too.
      await this.#o.redis.xgroup("CREATE", this.#stream, RELAY_GROUP, "0", "MKSTREAM");
    } catch (error) {
      if (!errorMessage(error).includes("BUSYGROUP")) throw error;
    }
    this.#groupReady = true;
  }

  /** Retries first, then entries abandoned by dead relays, then new entries (waiting up to blockMs). */
  async #nextBatch(): Promise<OutboxEntry[]> {
    const capacity = this.#o.batchSize * this.#o.batchesInFlight;
    const batch = this.#retry.splice(0, capacity);
    if (batch.length < capacity && Date.now() - this.#lastClaimAt >= Math.min(1000, this.#o.claimIdleMs)) {
      this.#lastClaimAt = Date.now();
      batch.push(...(await this.#claim(capacity - batch.length, new Set(batch.map((e) => e.streamId)))));
    }
    if (batch.length > 0) return batch;
    const reply = await this.#reader.xreadgroup(
      "GROUP",
      RELAY_GROUP,
      this.consumer,
      "COUNT",
      capacity,
      "BLOCK",
      this.#o.blockMs,
      "STREAMS",
      this.#stream,
      ">",
    );
    return this.#usable(reply?.[0]?.[1] ?? []);
  }

  async #claim(count: number, skip: Set<string>): Promise<OutboxEntry[]> {
    const reply = (await this.#o.redis.xautoclaim(
      this.#stream,
      RELAY_GROUP,
      this.consumer,
      this.#o.claimIdleMs,
      this.#claimCursor,
      "COUNT",
      count,
    )) as [string, StreamEntry[], string[]?];
    this.#claimCursor = reply[0];
    const claimed = reply[1].filter(([id]) => !skip.has(id) && !this.#retry.some((e) => e.streamId === id));
    if (claimed.length > 0) {
      this.#o.logger.warn(
        { consumer: this.consumer, entries: claimed.length },
        "took over outbox entries left unacknowledged by another relay",
      );
    }
    return this.#usable(claimed);
  }

  /** Entries that cannot be published ever (no event field) are logged and acknowledged, not retried forever. */
  async #usable(entries: StreamEntry[]): Promise<OutboxEntry[]> {
    const good: OutboxEntry[] = [];
    for (const raw of entries) {
      const entry = parseOutboxEntry(...raw);
      if ("malformed" in entry) {
        this.#o.logger.error(
          { streamId: entry.streamId },
          "dropping a malformed outbox entry (no event or type)",
        );
        this.#metrics.publishes.inc({ outcome: "failed" });
        await this.#o.redis.xack(this.#stream, RELAY_GROUP, entry.streamId);
      } else {
        good.push(entry);
      }
    }
    return good;
  }

  /** Publishes in PublishBatch calls of batchSize, up to batchesInFlight at once; throws when any must be retried. */
  async #publish(entries: OutboxEntry[]): Promise<void> {
    const chunks: OutboxEntry[][] = [];
    for (let i = 0; i < entries.length; i += this.#o.batchSize)
      chunks.push(entries.slice(i, i + this.#o.batchSize));
    const results = await Promise.allSettled(chunks.map((chunk) => this.#publishBatch(chunk)));
    const failure = results.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    if (this.#retry.length > 0) throw new Error(`${this.#retry.length} outbox entries await a retry`);
  }

  /** One PublishBatch: accepted entries are acknowledged, failed ones queued for retry (or left pending). */
  async #publishBatch(batch: OutboxEntry[]): Promise<void> {
    const { sns, topicArn, logger, redis } = this.#o;
    const byId = new Map(batch.map((entry, i) => [`e${i}`, entry]));
    const stopTimer = this.#metrics.duration.startTimer();
    const sends = startSendSpans(byId, ORDERS_DESTINATION);
    let response;
    try {
      response = await sns.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: [...byId].map(([id, entry]) => ({
            Id: id,
            Message: entry.event,
            MessageAttributes: {
              type: { DataType: "String", StringValue: entry.type },
              // SNS refuses empty attribute values.
              ...(entry.traceparent
                ? { traceparent: { DataType: "String", StringValue: entry.traceparent } }
                : {}),
            },
          })),
        }),
      );
    } catch (error) {
      sends?.end({ error });
      this.#retry.unshift(...batch);
      this.#metrics.publishes.inc({ outcome: "retry" }, batch.length);
      const transient = isTransientSdkError(error);
      logger[transient ? "warn" : "error"](
        { err: error, entries: batch.length },
        transient
          ? `SNS unavailable, will retry: ${errorMessage(error)}`
          : `SNS refused the batch (check ORDERS_TOPIC_ARN and permissions), will retry: ${errorMessage(error)}`,
      );
      throw new Error("publish failed", { cause: error });
    } finally {
      stopTimer();
    }
    sends?.end(response);

    const accepted = (response.Successful ?? []).flatMap((s) => {
      const entry = s.Id ? byId.get(s.Id) : undefined;
      return entry ? [entry] : [];
    });
    if (accepted.length > 0) {
      this.#lastProgressAt = Date.now();
      await redis.xack(this.#stream, RELAY_GROUP, ...accepted.map((e) => e.streamId));
      this.#metrics.publishes.inc({ outcome: "success" }, accepted.length);
      for (const entry of accepted)
        logger.debug(
          { eventId: entry.eventId, type: entry.type, traceparent: entry.traceparent },
          "published",
        );
    }
    const failed = response.Failed ?? [];
    for (const failure of failed) {
      const entry = failure.Id ? byId.get(failure.Id) : undefined;
      if (!entry) continue;
      const log = { eventId: entry.eventId, type: entry.type, code: failure.Code, reason: failure.Message };
      if (failure.SenderFault) {
        // SNS will refuse this again right away: leave it pending, so it is retried only after claimIdleMs.
        this.#metrics.publishes.inc({ outcome: "failed" });
        logger.error(
          log,
          "SNS rejected an outbox entry; it stays pending and is retried after the claim idle time",
        );
      } else {
        this.#metrics.publishes.inc({ outcome: "retry" });
        logger.warn(log, "SNS failed an entry of the batch; retrying it");
        this.#retry.push(entry);
      }
    }
  }

  async #maybeTrim(): Promise<void> {
    if (Date.now() - this.#lastTrimAt < this.#o.trimIntervalMs) return;
    this.#lastTrimAt = Date.now();
    const removed = await trimAcknowledged(this.#o.redis, this.#stream, RELAY_GROUP);
    if (removed > 0) this.#o.logger.debug({ removed }, "trimmed acknowledged outbox entries");
  }
}
