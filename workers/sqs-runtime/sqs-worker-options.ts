// Every option of the SQS worker runtime in one place: its default and why, validated once up front.

export interface SqsWorkerOptions {
  /** Names the worker in metrics, logs and processed markers (`inventory`, `shipment`, …). */
  worker: string;
  /** The worker's source queue. */
  queueUrl: string;
  /** The queue's dead-letter queue: where invalid bodies and permanent failures are sent. */
  deadLetterQueueUrl: string;
  /**
   * Pollers per process (WORKER_CONCURRENCY). Default 2: while one poller's batch is being handled the
   * other is already long-polling, so a process is never idle between batches.
   */
  concurrency: number;
  /** Messages per ReceiveMessage. Default 10, the SQS maximum: fewer requests per message. */
  batchSize: number;
  /**
   * Handlers running at once in this process, across pollers. Default concurrency × batchSize, i.e. a whole
   * batch is handled in parallel; lower it to protect a slow dependency. Messages waiting for a slot are
   * "received but unstarted" and are released at once on shutdown.
   */
  maxInFlight: number;
  /** Long-poll wait. Default 20 s, the SQS maximum: fewest empty receives, and shutdown aborts it anyway. */
  waitTimeSeconds: number;
  /**
   * Visibility timeout given to received messages. Default 30 s: long enough for a normal handler, short
   * enough that a crashed worker's messages come back quickly; the heartbeat extends it for long handlers.
   */
  visibilityTimeoutSeconds: number;
  /**
   * How often a running handler's message visibility is extended (by visibilityTimeoutSeconds).
   * Default a third of the visibility timeout, so two heartbeats may fail before the message reappears.
   */
  heartbeatIntervalSeconds: number;
  /**
   * How long the heartbeat keeps a handler's message invisible. Default 300 s (or the visibility timeout if longer): a handler still running after
   * 5 minutes is presumed stuck, so its message is let go (it reappears for another attempt) instead of being
   * held forever. Handlers have their own shorter timeouts (webhook, Redis); this is the backstop.
   */
  maxHandlerSeconds: number;
  /** First retry delay after a retryable failure (visibility on attempt 1). Default 1 s. */
  retryBaseSeconds: number;
  /**
   * Longest retry delay: the delay doubles per receive up to this. Default 300 s: a dependency that is down
   * for minutes is polled every 5 minutes, not hammered, and maxReceiveCount still bounds the attempts.
   */
  retryMaxSeconds: number;
  /**
   * Processed-marker lifetime. Default 15 days: at least the queue's 14-day maximum retention, so a
   * duplicate can never outlive the marker that recognises it.
   */
  processedMarkerTtlSeconds: number;
  /**
   * How long stop() waits for in-flight handlers. Default 25 s, within SHUTDOWN_TIMEOUT_MS's default, leaving
   * time to release and close. Handlers still running afterwards are abandoned: their messages reappear.
   */
  drainTimeoutMs: number;
  /** Pause after a receive error before the next poll (connection or throttling). Default 1 s. */
  receiveErrorBackoffMs: number;
  /** How old the cached queue depth may be before a scrape refreshes it. Default 10 s (bounds API calls). */
  queueDepthCacheMs: number;
}

export type SqsWorkerOptionsInput = Pick<SqsWorkerOptions, "worker" | "queueUrl" | "deadLetterQueueUrl"> &
  Partial<Omit<SqsWorkerOptions, "worker" | "queueUrl" | "deadLetterQueueUrl">>;

const MAX_VISIBILITY_SECONDS = 43_200; // SQS: 12 hours.

/** Fills in defaults and rejects combinations SQS or the runtime cannot honour, naming the option and the fix. */
export function resolveSqsWorkerOptions(input: SqsWorkerOptionsInput): SqsWorkerOptions {
  const concurrency = input.concurrency ?? 2;
  const batchSize = input.batchSize ?? 10;
  const visibilityTimeoutSeconds = input.visibilityTimeoutSeconds ?? 30;
  const options: SqsWorkerOptions = {
    worker: input.worker,
    queueUrl: input.queueUrl,
    deadLetterQueueUrl: input.deadLetterQueueUrl,
    concurrency,
    batchSize,
    maxInFlight: input.maxInFlight ?? concurrency * batchSize,
    waitTimeSeconds: input.waitTimeSeconds ?? 20,
    visibilityTimeoutSeconds,
    heartbeatIntervalSeconds: input.heartbeatIntervalSeconds ?? visibilityTimeoutSeconds / 3,
    maxHandlerSeconds: input.maxHandlerSeconds ?? Math.max(300, visibilityTimeoutSeconds),
    retryBaseSeconds: input.retryBaseSeconds ?? 1,
    retryMaxSeconds: input.retryMaxSeconds ?? 300,
    processedMarkerTtlSeconds: input.processedMarkerTtlSeconds ?? 15 * 24 * 3600,
    drainTimeoutMs: input.drainTimeoutMs ?? 25_000,
    receiveErrorBackoffMs: input.receiveErrorBackoffMs ?? 1000,
    queueDepthCacheMs: input.queueDepthCacheMs ?? 10_000,
  };
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  const int = (n: number) => Number.isInteger(n);
  check(/^[a-z][a-z0-9-]{0,40}$/.test(options.worker), "worker must be a lowercase name such as inventory");
  check(options.queueUrl !== options.deadLetterQueueUrl, "deadLetterQueueUrl must differ from queueUrl");
  check(int(concurrency) && concurrency >= 1 && concurrency <= 100, "concurrency must be an integer 1-100");
  check(int(batchSize) && batchSize >= 1 && batchSize <= 10, "batchSize must be an integer 1-10 (SQS limit)");
  check(int(options.maxInFlight) && options.maxInFlight >= 1, "maxInFlight must be a positive integer");
  check(
    int(options.waitTimeSeconds) && options.waitTimeSeconds >= 1 && options.waitTimeSeconds <= 20,
    "waitTimeSeconds must be an integer 1-20 (SQS limit)",
  );
  check(
    int(visibilityTimeoutSeconds) &&
      visibilityTimeoutSeconds >= 1 &&
      visibilityTimeoutSeconds <= MAX_VISIBILITY_SECONDS,
    "visibilityTimeoutSeconds must be an integer 1-43200 (SQS limit)",
  );
  check(
    options.heartbeatIntervalSeconds > 0 && options.heartbeatIntervalSeconds < visibilityTimeoutSeconds,
    "heartbeatIntervalSeconds must be above 0 and below visibilityTimeoutSeconds, or the message reappears",
  );
  check(
    options.maxHandlerSeconds >= visibilityTimeoutSeconds,
    "maxHandlerSeconds must be at least visibilityTimeoutSeconds",
  );
  check(
    int(options.retryBaseSeconds) &&
      options.retryBaseSeconds >= 0 &&
      options.retryBaseSeconds <= options.retryMaxSeconds,
    "retryBaseSeconds must be an integer from 0 to retryMaxSeconds",
  );
  check(
    int(options.retryMaxSeconds) && options.retryMaxSeconds <= MAX_VISIBILITY_SECONDS,
    "retryMaxSeconds must be an integer up to 43200 (SQS visibility limit)",
  );
  check(
    options.processedMarkerTtlSeconds >= 14 * 24 * 3600,
    "processedMarkerTtlSeconds must be at least 14 days (the longest SQS retention), or a late duplicate is redone",
  );
  check(options.drainTimeoutMs >= 0, "drainTimeoutMs must not be negative");
  if (problems.length > 0)
    throw new Error(`invalid SQS worker options for ${input.worker}: ${problems.join("; ")}`);
  return options;
}
