// Every option of the device-ingest worker in one place: its default and why, validated once up front.

export interface DeviceIngestOptions {
  /** Consumer group the replicas share (EVENTHUB_CONSUMER_GROUP). */
  consumerGroup: string;
  /**
   * Events per batch per partition. Default 500: one bulk request to Cosmos carries many documents, and the SDK's
   * default of 1 caps a partition at a few dozen events per second.
   */
  maxBatchSize: number;
  /**
   * How long a receive waits to fill a batch. Default 1000 ms: bounds latency at low traffic, and an idle
   * partition still gets a (empty) call this often, which is when time-based checkpoints are written.
   */
  maxWaitMs: number;
  /** Where a partition without a checkpoint starts. Default earliest: a new consumer group loses nothing. */
  startPosition: "earliest" | "latest";
  /**
   * Partition claiming. Default balanced: one partition per interval, so replicas that start together settle
   * evenly instead of the first one grabbing all.
   */
  loadBalancing: "balanced" | "greedy";
  /** Ownership renewal and balancing interval. Default 10 s (the SDK's); a released partition moves within it. */
  loadBalancingIntervalMs: number;
  /**
   * Ownership lifetime without renewal. Default 60 s (the SDK's): a crashed replica's partitions move after it.
   * Must exceed the interval several times, or a slow renewal loses partitions that are still being read.
   */
  ownershipExpiryMs: number;
  /** Checkpoint after this many durable events. Default 1000: redelivery after a crash stays small. */
  checkpointEveryEvents: number;
  /** ...or when the oldest uncheckpointed durable event is this old. Default 5 s. */
  checkpointIntervalMs: number;
  /** First pause after a failed write to Cosmos or the dead-letter queue. Default 200 ms. */
  retryBaseMs: number;
  /** Longest pause between retries (doubling from retryBaseMs). Default 30 s; a Retry-After longer wins. */
  retryMaxMs: number;
  /**
   * After SIGTERM, how long a batch that cannot be written (dependency down) keeps retrying before it is given up
   * uncheckpointed (it is redelivered to the next owner). Default 15 s, inside SHUTDOWN_TIMEOUT_MS's 25 s.
   */
  drainTimeoutMs: number;
  /**
   * Largest event body accepted. Default 256 KiB: beyond that it is not telemetry (and Cosmos RU cost grows with
   * size); it is dead-lettered with reason `too_large`, its body kept in blob storage.
   */
  maxEventBytes: number;
  /** Cosmos writes: bulk operations (default) or one request per event (the benchmark's baseline). */
  writeMode: "bulk" | "per-event";
  /** How old the cached dead-letter queue depth may be before a scrape refreshes it. Default 10 s. */
  queueDepthCacheMs: number;
}

export type DeviceIngestOptionsInput = Pick<DeviceIngestOptions, "consumerGroup"> &
  Partial<Omit<DeviceIngestOptions, "consumerGroup">>;

/** Fills in defaults and rejects combinations that cannot work, naming the option and the fix. */
export function resolveDeviceIngestOptions(input: DeviceIngestOptionsInput): DeviceIngestOptions {
  const options: DeviceIngestOptions = {
    consumerGroup: input.consumerGroup,
    maxBatchSize: input.maxBatchSize ?? 500,
    maxWaitMs: input.maxWaitMs ?? 1000,
    startPosition: input.startPosition ?? "earliest",
    loadBalancing: input.loadBalancing ?? "balanced",
    loadBalancingIntervalMs: input.loadBalancingIntervalMs ?? 10_000,
    ownershipExpiryMs: input.ownershipExpiryMs ?? 60_000,
    checkpointEveryEvents: input.checkpointEveryEvents ?? 1000,
    checkpointIntervalMs: input.checkpointIntervalMs ?? 5000,
    retryBaseMs: input.retryBaseMs ?? 200,
    retryMaxMs: input.retryMaxMs ?? 30_000,
    drainTimeoutMs: input.drainTimeoutMs ?? 15_000,
    maxEventBytes: input.maxEventBytes ?? 256 * 1024,
    writeMode: input.writeMode ?? "bulk",
    queueDepthCacheMs: input.queueDepthCacheMs ?? 10_000,
  };
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
  check(options.consumerGroup.length > 0, "consumerGroup must not be empty");
  check(positiveInt(options.maxBatchSize), "maxBatchSize must be a positive integer");
  check(positiveInt(options.maxWaitMs), "maxWaitMs must be a positive integer");
  check(positiveInt(options.loadBalancingIntervalMs), "loadBalancingIntervalMs must be a positive integer");
  check(
    options.ownershipExpiryMs >= 2 * options.loadBalancingIntervalMs,
    "ownershipExpiryMs must be at least twice loadBalancingIntervalMs, or live replicas lose partitions",
  );
  check(positiveInt(options.checkpointEveryEvents), "checkpointEveryEvents must be a positive integer");
  check(positiveInt(options.checkpointIntervalMs), "checkpointIntervalMs must be a positive integer");
  check(
    options.retryBaseMs > 0 && options.retryBaseMs <= options.retryMaxMs,
    "retryBaseMs must be above 0 and at most retryMaxMs",
  );
  check(options.drainTimeoutMs >= 0, "drainTimeoutMs must not be negative");
  check(positiveInt(options.maxEventBytes), "maxEventBytes must be a positive integer");
  if (problems.length > 0) throw new Error(`invalid device-ingest options: ${problems.join("; ")}`);
  return options;
}
