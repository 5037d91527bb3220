// The SQS worker runtime: polls a queue with sqs-consumer, hands each valid CloudEvent to a handler, and decides
// what happens to the message afterwards (delete, retry with backoff, dead-letter), exactly once per event id.
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { RedisClient } from "../../shared/redis-connection.ts";
import type { Registry } from "prom-client";
import { Consumer } from "sqs-consumer";
import { setTimeout as delay } from "node:timers/promises";
import type { z } from "zod";
import { newTraceparent } from "../../shared/events/cloudevent.ts";
import {
  inSqsProcessSpan,
  recordDeadLetter,
  recordDuplicate,
  recordRetry,
} from "../../shared/telemetry/sqs-spans.ts";
import { activeTraceparent } from "../../shared/telemetry/spans.ts";
import { observeWithTrace } from "../../shared/telemetry/exemplars.ts";
import { PermanentError, RetryableError, errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { Component } from "../../shared/component.ts";
import type { ReadinessCheck } from "../../shared/management-server.ts";
import { sendToDeadLetterQueue, type DeadLetterCause } from "./dead-letter.ts";
import { DeleteBatcher } from "./delete-batcher.ts";
import { HandlerSlots } from "./handler-slots.ts";
import { ProcessedMarkers } from "./processed-markers.ts";
import { retryDelaySeconds } from "./retry-delay.ts";
import { backoffDelay } from "../../shared/backoff.ts";
import { classifySdkError, describeSdkError } from "../../shared/aws-errors.ts";
import {
  resolveSqsWorkerOptions,
  type SqsWorkerOptions,
  type SqsWorkerOptionsInput,
} from "./sqs-worker-options.ts";
import { createWorkerMetrics, type OrderStage, type WorkerMetrics } from "./worker-metrics.ts";

/** What a handler gets besides the event. */
export interface HandlerContext {
  /** Child logger carrying eventId, eventType, orderId, traceparent, attempt. */
  logger: Logger;
  /** 1 on first delivery (SQS ApproximateReceiveCount). */
  attempt: number;
  /** The event's W3C traceparent (or a fresh one): put it on follow-up events. */
  traceparent: string;
  messageId: string;
  /** Records eventfleet_order_stage_latency_seconds: time from the order's placement until now. */
  observeStage(stage: OrderStage, placedAt: string | Date): void;
}

/** The minimum the runtime needs of an event: an id for idempotency and a type for routing and metrics. */
export interface RuntimeEvent {
  id: string;
  type: string;
  traceparent?: string | undefined;
}

export type EventHandler<E extends RuntimeEvent> = (event: E, context: HandlerContext) => Promise<void>;

export interface SqsWorkerDependencies<E extends RuntimeEvent> {
  sqs: SQSClient;
  redis: RedisClient;
  logger: Logger;
  registry: Registry;
  /** EVENTFLEET_ENV: the Redis key prefix `ef:<env>:`. */
  env: string;
  /** Parses a message body (already JSON-decoded) into an event; failures are dead-lettered as schema_invalid. */
  schema: z.ZodType<E>;
  /** Event types this worker handles; anything else is dead-lettered as unexpected_type. */
  accepts: readonly string[];
  handle: EventHandler<E>;
}

type Parsed<E> = { ok: true; event: E } | { ok: false; cause: DeadLetterCause };

const SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp"] as const;

export class SqsWorker<E extends RuntimeEvent> implements Component {
  readonly options: SqsWorkerOptions;
  readonly #deps: SqsWorkerDependencies<E>;
  readonly #log: Logger;
  readonly #metrics: WorkerMetrics;
  readonly #markers: ProcessedMarkers;
  readonly #slots: HandlerSlots;
  readonly #deletes: DeleteBatcher;
  readonly #consumers: Consumer[] = [];
  /** Every received message's admission, until it is finished or released. */
  readonly #active = new Set<Promise<void>>();
  readonly #stopController = new AbortController();
  #running = false;
  #stopping = false;
  #lastReceiveError: string | undefined;
  #receiveFailures = 0;
  #depthTimer: NodeJS.Timeout | undefined;
  #abandoned = false;
  /**
   * The source queue's redrive maxReceiveCount (read from its RedrivePolicy): the attempt on which a failing
   * message is dead-lettered by us, with its reason and last error, before SQS would move it without either.
   */
  #maxReceiveCount: number | undefined;

  constructor(deps: SqsWorkerDependencies<E>, options: SqsWorkerOptionsInput) {
    this.options = resolveSqsWorkerOptions(options);
    this.#deps = deps;
    this.#log = deps.logger.child({ worker: this.options.worker });
    this.#metrics = createWorkerMetrics(deps.registry);
    this.#markers = new ProcessedMarkers(deps.redis, {
      env: deps.env,
      worker: this.options.worker,
      ttlSeconds: this.options.processedMarkerTtlSeconds,
    });
    this.#slots = new HandlerSlots(this.options.maxInFlight);
    // A message whose delete failed comes back after its visibility timeout and is acknowledged as a duplicate.
    this.#deletes = new DeleteBatcher(deps.sqs, this.options.queueUrl, (error, failed) =>
      this.#log.warn({ err: error, failed }, describeSdkError(error, "DeleteMessageBatch")),
    );
    // Every series exists from the start, so rate() and alerts see zeros instead of nothing.
    const worker = this.options.worker;
    this.#metrics.inFlight.set({ worker }, 0);
    for (const outcome of ["success", "retry", "dead_letter", "duplicate"] as const) {
      this.#metrics.processed.inc({ worker, outcome }, 0);
    }
  }

  /** Starts `concurrency` pollers. */
  start(): void {
    if (this.#running || this.#stopping) return;
    this.#running = true;
    const o = this.options;
    for (let i = 0; i < o.concurrency; i++) {
      const consumer = Consumer.create({
        queueUrl: o.queueUrl,
        sqs: this.#deps.sqs,
        batchSize: o.batchSize,
        waitTimeSeconds: o.waitTimeSeconds,
        visibilityTimeout: o.visibilityTimeoutSeconds,
        messageAttributeNames: ["All"],
        messageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
        // We acknowledge, retry and dead-letter each message ourselves (with our own requests, which
        // the shutdown abort does not cancel), so the batch handler acknowledges nothing.
        handleMessageBatch: (messages) => this.#handleBatch(messages),
        shouldDeleteMessages: false,
        preReceiveMessageCallback: () => this.#beforeReceive(),
        postReceiveMessageCallback: () => {
          this.#receiveSucceeded();
          return Promise.resolve();
        },
      });
      consumer.on("error", (error, message) => this.#onConsumerError(error, message));
      consumer.on("empty", () => this.#metrics.receiveBatchSize.observe({ worker: o.worker }, 0));
      consumer.start();
      this.#consumers.push(consumer);
    }
    this.#depthTimer = setInterval(() => void this.#refreshQueueDepth(), o.queueDepthCacheMs);
    this.#depthTimer.unref();
    void this.#refreshQueueDepth();
    this.#log.info(
      { queueUrl: o.queueUrl, concurrency: o.concurrency, maxInFlight: o.maxInFlight },
      "polling started",
    );
  }

  /**
   * Stops polling at once (aborting the long polls), makes messages received but not started visible again,
   * and waits for running handlers up to drainTimeoutMs. Handlers still running then are abandoned: their
   * heartbeats stop, so their messages reappear after the visibility timeout.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#drained();
    this.#stopping = true;
    this.#stopController.abort();
    for (const consumer of this.#consumers) consumer.stop({ abort: true });
    clearInterval(this.#depthTimer);
    this.#slots.refuseWaiting();
    await this.#drained();
    this.#running = false;
  }

  async #drained(): Promise<void> {
    const timeout = delay(this.options.drainTimeoutMs, false, { ref: false });
    let finished = true;
    // Again until nothing is left: a receive that completed as the poll was aborted still gets released.
    while (finished && this.#active.size > 0) {
      finished = await Promise.race([Promise.all([...this.#active]).then(() => true), timeout]);
    }
    if (!finished) {
      this.#abandoned = true;
      this.#log.warn(
        { inFlight: this.#active.size, drainTimeoutMs: this.options.drainTimeoutMs },
        "handlers still running after the drain timeout; abandoning them (their messages will be redelivered)",
      );
    } else {
      this.#log.info("stopped: no handler running");
    }
  }

  /** Readiness: pollers running and their last receive worked; Redis answering. */
  readinessChecks(): ReadinessCheck[] {
    return [
      {
        name: `sqs-polling-${this.options.worker}`,
        check: () => {
          if (!this.#running || this.#stopping) throw new Error("not polling");
          if (this.#lastReceiveError) throw new Error(this.#lastReceiveError);
        },
      },
      {
        name: "redis",
        check: async () => {
          await this.#deps.redis.ping();
        },
      },
    ];
  }

  // ---- polling -------------------------------------------------------------------------------------

  async #beforeReceive(): Promise<void> {
    if (this.#receiveFailures === 0) return;
    // Back off after failed receives (sqs-consumer would poll again at once); aborted by stop().
    const base = this.options.receiveErrorBackoffMs;
    // Six doublings at most, and never above 30 s: a receive error is usually over quickly.
    const wait = backoffDelay({ base, max: Math.min(30_000, base * 2 ** 5) }, this.#receiveFailures);
    await delay(wait, undefined, { signal: this.#stopController.signal });
  }

  #receiveSucceeded(): void {
    this.#receiveFailures = 0;
    this.#lastReceiveError = undefined;
  }

  #onConsumerError(error: Error, message: Message | Message[] | undefined): void {
    if (this.#stopping && classifySdkError(error) === "aborted") return;
    if (this.#stopping && error.name === "AbortError") return;
    if (message === undefined) {
      this.#receiveFailures++;
      this.#lastReceiveError = describeSdkError(error, "ReceiveMessage");
      this.#log.warn({ err: error, failures: this.#receiveFailures }, this.#lastReceiveError);
      return;
    }
    this.#log.error({ err: error }, `consumer error: ${errorMessage(error)}`);
  }

  async #handleBatch(messages: Message[]): Promise<Message[]> {
    this.#metrics.receiveBatchSize.observe({ worker: this.options.worker }, messages.length);
    await Promise.all(messages.map((message) => this.#track(this.#admit(message))));
    return [];
  }

  #track(work: Promise<void>): Promise<void> {
    this.#active.add(work);
    return work.finally(() => this.#active.delete(work));
  }

  /** Waits for a handler slot, then processes; released at once if shutdown comes first. */
  async #admit(message: Message): Promise<void> {
    const worker = this.options.worker;
    this.#metrics.inFlight.inc({ worker });
    const heartbeat = this.#startHeartbeat(message);
    try {
      const granted = !this.#stopping && (await this.#slots.acquire());
      if (!granted || this.#stopping) {
        if (granted) this.#slots.release();
        await this.#changeVisibility(message, 0, "release unstarted message");
        return;
      }
      try {
        await inSqsProcessSpan(message, queueName(this.options.queueUrl), () => this.#process(message));
      } finally {
        this.#slots.release();
      }
    } catch (error) {
      // #process handles its own failures; this is a bug, logged rather than crashing the poller.
      this.#log.error(
        { err: error, messageId: message.MessageId },
        `unexpected runtime error: ${errorMessage(error)}`,
      );
    } finally {
      clearInterval(heartbeat);
      this.#metrics.inFlight.dec({ worker });
    }
  }

  #startHeartbeat(message: Message): NodeJS.Timeout {
    const { heartbeatIntervalSeconds, visibilityTimeoutSeconds, maxHandlerSeconds } = this.options;
    const started = Date.now();
    const timer = setInterval(() => {
      if (this.#abandoned) {
        clearInterval(timer);
        return;
      }
      if (Date.now() - started > maxHandlerSeconds * 1000) {
        clearInterval(timer);
        this.#log.error(
          { messageId: message.MessageId, maxHandlerSeconds },
          "handler presumed stuck: no longer extending its visibility (the message will be redelivered)",
        );
        return;
      }
      void this.#changeVisibility(message, visibilityTimeoutSeconds, "heartbeat");
    }, heartbeatIntervalSeconds * 1000);
    timer.unref();
    return timer;
  }

  // ---- one message ---------------------------------------------------------------------------------

  #parse(message: Message): Parsed<E> {
    let body: unknown;
    try {
      body = JSON.parse(message.Body ?? "");
    } catch (error) {
      return {
        ok: false,
        cause: { reason: "invalid_json", error: `body is not JSON: ${errorMessage(error)}` },
      };
    }
    const type = (body as { type?: unknown } | null)?.type;
    if (typeof type === "string" && !this.#deps.accepts.includes(type)) {
      return {
        ok: false,
        cause: {
          reason: "unexpected_type",
          error: `event type ${type} is not handled by ${this.options.worker} (accepts ${this.#deps.accepts.join(", ")}); check the subscription filter policy`,
        },
      };
    }
    const result = this.#deps.schema.safeParse(body);
    if (!result.success) {
      const issues = result.error.issues
        .slice(0, 5)
        .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
        .join("; ");
      return { ok: false, cause: { reason: "schema_invalid", error: `not a valid CloudEvent: ${issues}` } };
    }
    return { ok: true, event: result.data };
  }

  async #process(message: Message): Promise<void> {
    const worker = this.options.worker;
    const attempt = Number(message.Attributes?.ApproximateReceiveCount ?? "1") || 1;
    const parsed = this.#parse(message);
    if (!parsed.ok) {
      this.#log.warn({ messageId: message.MessageId, reason: parsed.cause.reason }, parsed.cause.error);
      await this.#deadLetter(message, parsed.cause, attempt, this.#log);
      return;
    }
    const event = parsed.event;
    const traceparent =
      activeTraceparent() ??
      event.traceparent ??
      message.MessageAttributes?.traceparent?.StringValue ??
      newTraceparent();
    const orderId = (event as { data?: { orderId?: unknown } }).data?.orderId;
    const log = this.#log.child({
      eventId: event.id,
      eventType: event.type,
      ...(typeof orderId === "string" ? { orderId } : {}),
      traceparent,
      attempt,
    });

    const started = performance.now();
    try {
      if (await this.#markers.isProcessed(event.id)) {
        log.info("duplicate event: already processed, acknowledging");
        recordDuplicate();
        await this.#delete(message);
        this.#metrics.processed.inc({ worker, outcome: "duplicate" });
        return;
      }
      await this.#deps.handle(event, {
        logger: log,
        attempt,
        traceparent,
        messageId: message.MessageId ?? "",
        observeStage: (stage, placedAt) => {
          const seconds = (Date.now() - new Date(placedAt).getTime()) / 1000;
          if (Number.isFinite(seconds) && seconds >= 0)
            this.#metrics.stageLatency.observe({ stage }, seconds);
        },
      });
      this.#observeDuration(event.type, started);
    } catch (error) {
      this.#observeDuration(event.type, started);
      if (error instanceof PermanentError) {
        log.warn({ err: error, reason: error.reason }, `permanent failure: ${error.message}`);
        await this.#deadLetter(message, { reason: error.reason, error: error.message }, attempt, log);
        return;
      }
      await this.#retry(message, attempt, error, log);
      return;
    }
    // The handler is done: its slot and its poller are free now. The acknowledgment (marker and delete) is
    // tracked for shutdown but does not hold up the next receive, so one round trip per batch overlaps.
    void this.#track(this.#acknowledge(message, event.id, log));
  }

  /**
   * Marker and delete go out together. The marker only serves to spot a later duplicate; if it is lost, that
   * duplicate runs the handler again, whose effects are idempotent. A failed delete is logged by the batcher.
   */
  async #acknowledge(message: Message, eventId: string, log: Logger): Promise<void> {
    await Promise.all([
      this.#markers
        .markProcessed(eventId)
        .catch((error: unknown) =>
          log.warn(
            { err: error },
            `processed marker not written (a duplicate would be re-handled): ${errorMessage(error)}`,
          ),
        ),
      this.#delete(message),
    ]);
    this.#metrics.processed.inc({ worker: this.options.worker, outcome: "success" });
    log.debug("processed");
  }

  #observeDuration(eventType: string, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    observeWithTrace(
      this.#metrics.handlerDuration,
      { worker: this.options.worker, event_type: eventType },
      seconds,
    );
  }

  async #deadLetter(message: Message, cause: DeadLetterCause, attempt: number, log: Logger): Promise<void> {
    const worker = this.options.worker;
    try {
      await sendToDeadLetterQueue(this.#deps.sqs, this.options.deadLetterQueueUrl, message, cause);
    } catch (error) {
      // Not in the DLQ yet: keep it in the source queue and try again later.
      log.error({ err: error }, describeSdkError(error, "SendMessage to the DLQ"));
      await this.#retryLater(message, attempt, error, log);
      return;
    }
    recordDeadLetter(cause.reason, cause.error, queueName(this.options.deadLetterQueueUrl));
    this.#metrics.dlqSends.inc({ worker, reason: cause.reason });
    this.#metrics.processed.inc({ worker, outcome: "dead_letter" });
    // Sent, then deleted: a failed delete only means a second copy in the DLQ, never a lost message.
    await this.#delete(message);
  }

  /** A failed attempt: retried later, unless it was the last one SQS allows, then dead-lettered with its error. */
  async #retry(message: Message, attempt: number, error: unknown, log: Logger): Promise<void> {
    if (this.#maxReceiveCount !== undefined && attempt >= this.#maxReceiveCount) {
      const cause = {
        reason: "retries_exhausted",
        error: `failed on all ${attempt} attempts (queue maxReceiveCount ${this.#maxReceiveCount}); last error: ${errorMessage(error)}`,
      };
      log.warn({ err: error, reason: cause.reason }, cause.error);
      await this.#deadLetter(message, cause, attempt, log);
      return;
    }
    await this.#retryLater(message, attempt, error, log);
  }

  async #retryLater(message: Message, attempt: number, error: unknown, log: Logger): Promise<void> {
    const retryAfterMs = error instanceof RetryableError ? error.retryAfterMs : undefined;
    const seconds = retryDelaySeconds(attempt, this.options, retryAfterMs);
    log.warn({ err: error, retryInSeconds: seconds }, `handler failed, will retry: ${errorMessage(error)}`);
    recordRetry(error, attempt, seconds);
    this.#metrics.processed.inc({ worker: this.options.worker, outcome: "retry" });
    await this.#changeVisibility(message, seconds, "retry backoff");
  }

  async #delete(message: Message): Promise<void> {
    await this.#deletes.delete(message);
  }

  async #changeVisibility(message: Message, seconds: number, why: string): Promise<void> {
    try {
      await this.#deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.options.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      this.#log.warn(
        { err: error, messageId: message.MessageId },
        describeSdkError(error, `ChangeMessageVisibility (${why})`),
      );
    }
  }

  async #refreshQueueDepth(): Promise<void> {
    const queues = [
      { url: this.options.queueUrl, kind: "source" },
      { url: this.options.deadLetterQueueUrl, kind: "dlq" },
    ];
    await Promise.all(
      queues.map(async ({ url, kind }) => {
        try {
          const { Attributes } = await this.#deps.sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: [
                "ApproximateNumberOfMessages",
                ...(kind === "source" ? ["RedrivePolicy" as const] : []),
              ],
            }),
          );
          const depth = Number(Attributes?.ApproximateNumberOfMessages ?? NaN);
          if (Number.isFinite(depth)) this.#metrics.queueDepth.set({ queue: queueName(url), kind }, depth);
          if (kind === "source") this.#maxReceiveCount = maxReceiveCountOf(Attributes?.RedrivePolicy);
        } catch (error) {
          this.#log.debug({ err: error }, describeSdkError(error, "GetQueueAttributes"));
        }
      }),
    );
  }
}

/** maxReceiveCount of a queue's RedrivePolicy attribute (a JSON string), or undefined without one. */
export function maxReceiveCountOf(redrivePolicy: string | undefined): number | undefined {
  if (!redrivePolicy) return undefined;
  try {
    const count = Number((JSON.parse(redrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount);
    return Number.isInteger(count) && count > 0 ? count : undefined;
  } catch {
    return undefined;
  }
}

/** The queue's name, the last path segment of its URL: a bounded metric label. */
export function queueName(queueUrl: string): string {
  return new URL(queueUrl).pathname.split("/").filter(Boolean).pop() ?? queueUrl;
}
