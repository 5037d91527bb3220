// The outbox relay: moves events from the Redis outbox streams to SNS, acknowledging each only once SNS has it.
//
// One stream per slot group (REDIS_SLOT_GROUPS, shared/redis-keys.ts), each read by its own loop and blocking
// connection: on a Redis Cluster one XREADGROUP cannot span slots. Every loop has its own consumer-group, pending
// and NOGROUP recovery. The single stream of the layout before slot groups is drained too while it exists (entries
// written by a not-yet-upgraded API during a rolling upgrade).
//
// At-least-once: an entry is XACKed only after SNS accepted it, so a relay that dies between reading and
// publishing leaves the entry pending; another relay takes it over after `claimIdleMs` (XAUTOCLAIM) and
// publishes it again. A duplicate carries the same CloudEvent id, which consumers deduplicate on.
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { PublishBatchCommand, type SNSClient } from "@aws-sdk/client-sns";
import { duplicateClient, slotGroupsOf, type RedisClient } from "../shared/redis-connection.ts";
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
import { readOutboxBacklogs, trimAcknowledged } from "./outbox-backlog.ts";
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
  /** EVENTFLEET_ENV: which outbox streams. */
  env: string;
  /** REDIS_SLOT_GROUPS; default: the connection's (shared/redis-connection.ts slotGroupsOf). */
  slotGroups?: number;
  logger: Logger;
  registry: Registry;
  /** Name of this relay in the consumer group; default `<hostname>-<pid>-<random>`, unique per process. */
  consumer?: string;
}

type StreamEntry = [id: string, fields: string[] | null];

/** One outbox stream's consumer: its blocking reader and where it is. */
interface StreamConsumer {
  stream: string;
  /** A connection of its own, as XREADGROUP BLOCK holds it for up to blockMs. */
  reader: RedisClient;
  /** Entries read but SNS has not accepted yet (they stay pending in Redis meanwhile). */
  retry: OutboxEntry[];
  claimCursor: string;
  lastClaimAt: number;
  lastTrimAt: number;
  lastLoopAt: number;
  /** Last time it published something or found its stream empty: what a stall is measured from. */
  lastProgressAt: number;
  failures: number;
  groupReady: boolean;
}

export class OutboxRelay implements Component {
  readonly consumer: string;
  readonly #o: Required<Omit<OutboxRelayOptions, "consumer" | "slotGroups">>;
  /** The slot groups' streams; the legacy stream joins them at start when it exists. */
  readonly #streams: string[];
  readonly #legacyStream: string;
  readonly #consumers: StreamConsumer[] = [];
  readonly #metrics: ReturnType<typeof relayMetrics>;
  #startedAt = Date.now();
  #running: Promise<void> | undefined;
  readonly #stopping = new AbortController();

  constructor(options: OutboxRelayOptions) {
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = { ...OUTBOX_RELAY_DEFAULTS, ...given } as Required<
      Omit<OutboxRelayOptions, "consumer" | "slotGroups">
    >;
    const keys = redisKeys(options.env, {
      slotGroups: options.slotGroups ?? slotGroupsOf(options.redis),
    });
    this.#streams = keys.outboxStreams();
    this.#legacyStream = keys.legacyOutbox;
    this.#metrics = relayMetrics(
      options.registry,
      async () => {
        try {
          const backlog = await readOutboxBacklogs(
            this.#o.redis,
            this.#consumers.map((c) => c.stream),
            RELAY_GROUP,
          );
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
    this.#startedAt = Date.now();
    this.#running ??= this.#run();
  }

  /** Stops reading; entries read but not yet published stay pending and are taken over by another relay. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
    for (const consumer of this.#consumers) consumer.reader.disconnect();
  }

  /** The streams this relay reads (the slot groups', and the legacy stream while it exists). */
  get streams(): readonly string[] {
    return this.#consumers.map((c) => c.stream);
  }

  #consumer(stream: string): StreamConsumer {
    const reader = duplicateClient(this.#o.redis, { commandTimeout: this.#o.blockMs + 5000 });
    reader.on("error", () => {}); // reconnects by itself; the loop logs the failed reads
    const now = Date.now();
    return {
      stream,
      reader,
      retry: [],
      claimCursor: "0-0",
      lastClaimAt: 0,
      lastTrimAt: 0,
      lastLoopAt: now,
      lastProgressAt: now,
      failures: 0,
      groupReady: false,
    };
  }

  async #run(): Promise<void> {
    const { logger } = this.#o;
    await this.#connected(this.#o.redis);
    for (const stream of this.#streams) this.#consumers.push(this.#consumer(stream));
    // The layout before slot groups: drain what a not-yet-upgraded API wrote (nothing new creates this stream).
    const legacy = await this.#o.redis.exists(this.#legacyStream).catch(() => 0);
    if (legacy === 1) {
      logger.info(
        { stream: this.#legacyStream },
        "draining the outbox stream of the layout before slot groups",
      );
      this.#consumers.push(this.#consumer(this.#legacyStream));
    }
    logger.info({ consumer: this.consumer, streams: this.#consumers.length }, "outbox relay started");
    await Promise.all(this.#consumers.map((c) => this.#loop(c)));
    const unpublished = this.#consumers.reduce((n, c) => n + c.retry.length, 0);
    logger.info({ consumer: this.consumer, unpublished }, "outbox relay stopped");
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
    // Before the loops exist (Redis not reachable yet at start), the start is what must not take too long.
    if (this.#consumers.length === 0 && now - this.#startedAt > this.#o.stallAfterMs)
      return `relay loop stalled for ${Math.round((now - this.#startedAt) / 1000)} s`;
    for (const c of this.#consumers) {
      const loopIdleMs = now - c.lastLoopAt;
      if (loopIdleMs > this.#o.stallAfterMs)
        return `relay loop of ${c.stream} stalled for ${Math.round(loopIdleMs / 1000)} s`;
      const stuckMs = now - c.lastProgressAt;
      if (stuckMs > this.#o.stallAfterMs)
        return `outbox stalled: nothing published for ${Math.round(stuckMs / 1000)} s while entries wait in ${c.stream} (see the relay's log)`;
    }
    return undefined;
  }

  async #loop(c: StreamConsumer): Promise<void> {
    const { logger } = this.#o;
    // Started together with its connection: the first commands must not fail (and warn) just for that.
    await this.#connected(c.reader);
    c.lastLoopAt = c.lastProgressAt = Date.now();
    while (!this.#stopping.signal.aborted) {
      c.lastLoopAt = Date.now();
      try {
        await this.#ensureGroup(c);
        const batch = await this.#nextBatch(c);
        if (batch.length > 0) await this.#publish(c, batch);
        else c.lastProgressAt = Date.now();
        await this.#maybeTrim(c);
        if (c.retry.length === 0) c.failures = 0;
      } catch (error) {
        c.failures += 1;
        if (errorMessage(error).includes("NOGROUP")) {
          // Redis lost the stream or the group (a failover to an empty replica, a flush, no persistence): the
          // entries we held are gone with it; recreate the group so orders placed from now on are published.
          c.groupReady = false;
          c.retry = [];
          c.claimCursor = "0-0";
          logger.error(
            { consumer: this.consumer, stream: c.stream },
            "outbox consumer group missing: Redis lost its data (run Redis with persistence and noeviction); recreating it",
          );
        } else if (this.#o.redis.status === "ready" && c.reader.status === "ready") {
          // Only while Redis is up: when it is down, its connection's watcher says so once, with the cause
          // (a stack per backoff would bury that).
          logger.warn(
            { err: error, consumer: this.consumer, stream: c.stream },
            `outbox relay: ${errorMessage(error)}`,
          );
        }
      }
      if (c.failures > 0) await this.#backoff(c);
    }
  }

  /** Waits until `redis` is ready, for at most a connect timeout; after that the loop's own retries take over. */
  async #connected(redis: RedisClient): Promise<void> {
    if (redis.status === "ready") return;
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(5000)]);
    await once(redis, "ready", { signal }).catch(() => undefined);
  }

  async #backoff(c: StreamConsumer): Promise<void> {
    const { backoffInitialMs, backoffMaxMs } = this.#o;
    // Jitter (half to all of the pause) spreads several relays' retries apart.
    const ms = backoffDelay({ base: backoffInitialMs, max: backoffMaxMs, jitter: [0.5, 1] }, c.failures);
    await sleep(ms, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
  }

  async #ensureGroup(c: StreamConsumer): Promise<void> {
    if (c.groupReady) return;
    try {
      // From id 0: entries written before any relay existed are published too.
      await this.#o.redis.xgroup("CREATE", c.stream, RELAY_GROUP, "0", "MKSTREAM");
    } catch (error) {
      if (!errorMessage(error).includes("BUSYGROUP")) throw error;
    }
    c.groupReady = true;
  }

  /** Retries first, then entries abandoned by dead relays, then new entries (waiting up to blockMs). */
  async #nextBatch(c: StreamConsumer): Promise<OutboxEntry[]> {
    const capacity = this.#o.batchSize * this.#o.batchesInFlight;
    const batch = c.retry.splice(0, capacity);
    if (batch.length < capacity && Date.now() - c.lastClaimAt >= Math.min(1000, this.#o.claimIdleMs)) {
      c.lastClaimAt = Date.now();
      batch.push(...(await this.#claim(c, capacity - batch.length, new Set(batch.map((e) => e.streamId)))));
    }
    if (batch.length > 0) return batch;
    const reply = await c.reader.xreadgroup(
      "GROUP",
      RELAY_GROUP,
      this.consumer,
      "COUNT",
      capacity,
      "BLOCK",
      this.#o.blockMs,
      "STREAMS",
      c.stream,
      ">",
    );
    return this.#usable(c, reply?.[0]?.[1] ?? []);
  }

  async #claim(c: StreamConsumer, count: number, skip: Set<string>): Promise<OutboxEntry[]> {
    const reply = (await this.#o.redis.xautoclaim(
      c.stream,
      RELAY_GROUP,
      this.consumer,
      this.#o.claimIdleMs,
      c.claimCursor,
      "COUNT",
      count,
    )) as [string, StreamEntry[], string[]?];
    c.claimCursor = reply[0];
    const claimed = reply[1].filter(([id]) => !skip.has(id) && !c.retry.some((e) => e.streamId === id));
    if (claimed.length > 0) {
      this.#o.logger.warn(
        { consumer: this.consumer, stream: c.stream, entries: claimed.length },
        "took over outbox entries left unacknowledged by another relay",
      );
    }
    return this.#usable(c, claimed);
  }

  /** Entries that cannot be published ever (no event field) are logged and acknowledged, not retried forever. */
  async #usable(c: StreamConsumer, entries: StreamEntry[]): Promise<OutboxEntry[]> {
    const good: OutboxEntry[] = [];
    for (const raw of entries) {
      const entry = parseOutboxEntry(...raw);
      if ("malformed" in entry) {
        this.#o.logger.error(
          { streamId: entry.streamId },
          "dropping a malformed outbox entry (no event or type)",
        );
        this.#metrics.publishes.inc({ outcome: "failed" });
        await this.#o.redis.xack(c.stream, RELAY_GROUP, entry.streamId);
      } else {
        good.push(entry);
      }
    }
    return good;
  }

  /** Publishes in PublishBatch calls of batchSize, up to batchesInFlight at once; throws when any must be retried. */
  async #publish(c: StreamConsumer, entries: OutboxEntry[]): Promise<void> {
    const chunks: OutboxEntry[][] = [];
    for (let i = 0; i < entries.length; i += this.#o.batchSize)
      chunks.push(entries.slice(i, i + this.#o.batchSize));
    const results = await Promise.allSettled(chunks.map((chunk) => this.#publishBatch(c, chunk)));
    const failure = results.find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    if (c.retry.length > 0) throw new Error(`${c.retry.length} outbox entries await a retry`);
  }

  /** One PublishBatch: accepted entries are acknowledged, failed ones queued for retry (or left pending). */
  async #publishBatch(c: StreamConsumer, batch: OutboxEntry[]): Promise<void> {
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
      c.retry.unshift(...batch);
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
      c.lastProgressAt = Date.now();
      await redis.xack(c.stream, RELAY_GROUP, ...accepted.map((e) => e.streamId));
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
        c.retry.push(entry);
      }
    }
  }

  async #maybeTrim(c: StreamConsumer): Promise<void> {
    if (Date.now() - c.lastTrimAt < this.#o.trimIntervalMs) return;
    c.lastTrimAt = Date.now();
    const removed = await trimAcknowledged(this.#o.redis, c.stream, RELAY_GROUP);
    if (removed > 0)
      this.#o.logger.debug({ removed, stream: c.stream }, "trimmed acknowledged outbox entries");
  }
}
