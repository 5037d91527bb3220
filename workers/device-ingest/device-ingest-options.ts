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
  /**
   * ...or when the oldest uncheckpointed durable event is this old. Default 1 s: KEDA counts the events after the
   * last checkpoint as lag, so the chart's threshold is chosen with it (helm/eventfleet/values.yaml).
   */
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
  /**
   * The pod's memory limit in bytes, which bounds batch size and prefetch (memory-budget.ts). Default: read from
   * the container's cgroup (memory.max, or memory.limit_in_bytes on cgroup v1); none there means no bound.
   */
  memoryLimitBytes: number | undefined;
  /** Share of memoryLimitBytes that buffered events may take. Default 0.5; the rest is the runtime and clients. */
  eventBufferShare: number;
}

export type DeviceIngestOptionsInput = Pick<DeviceIngestOptions, "consumerGroup"> &
  Partial<Omit<DeviceIngestOptions, "consumerGroup">>;

/** Each default once (its reason is on the option above); the environment variables (config.ts) use these too. */
export const DEVICE_INGEST_DEFAULTS = {
  maxBatchSize: 500,
  maxWaitMs: 1000,
  startPosition: "earliest",
  loadBalancing: "balanced",
  loadBalancingIntervalMs: 10_000,
  ownershipExpiryMs: 60_000,
  checkpointEveryEvents: 1000,
  checkpointIntervalMs: 1000,
  retryBaseMs: 200,
  retryMaxMs: 30_000,
  drainTimeoutMs: 15_000,
  maxEventBytes: 256 * 1024,
  writeMode: "bulk",
  queueDepthCacheMs: 10_000,
  memoryLimitBytes: undefined,
  eventBufferShare: 0.5,
} as const satisfies Omit<DeviceIngestOptions, "consumerGroup">;

/** The options are wrong: each problem names the option; the role maps options to the variables that set them. */
export class DeviceIngestOptionsError extends Error {
  readonly problems: { option: keyof DeviceIngestOptions; problem: string }[];
  constructor(problems: { option: keyof DeviceIngestOptions; problem: string }[]) {
    super(`invalid device-ingest options: ${problems.map((p) => `${p.option} ${p.problem}`).join("; ")}`);
    this.name = "DeviceIngestOptionsError";
    this.problems = problems;
  }
}

/** Fills in defaults and rejects combinations that cannot work, naming the option and the fix (all at once). */
export function resolveDeviceIngestOptions(input: DeviceIngestOptionsInput): DeviceIngestOptions {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const options: DeviceIngestOptions = { ...DEVICE_INGEST_DEFAULTS, ...given } as DeviceIngestOptions;
  const problems: { option: keyof DeviceIngestOptions; problem: string }[] = [];
  const check = (ok: boolean, problem: string) => {
    if (ok) return;
    const [option, ...rest] = problem.split(" ");
    problems.push({ option: option as keyof DeviceIngestOptions, problem: rest.join(" ") });
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
  check(options.retryBaseMs > 0, "retryBaseMs must be above 0");
  check(
    options.retryMaxMs >= options.retryBaseMs,
    `retryMaxMs must be at least retryBaseMs (${options.retryBaseMs} ms)`,
  );
  check(options.drainTimeoutMs >= 0, "drainTimeoutMs must not be negative");
  check(positiveInt(options.maxEventBytes), "maxEventBytes must be a positive integer");
  check(
    options.memoryLimitBytes === undefined || positiveInt(options.memoryLimitBytes),
    "memoryLimitBytes must be a positive integer number of bytes",
  );
  check(
    options.eventBufferShare > 0 && options.eventBufferShare < 1,
    "eventBufferShare must be between 0 and 1 (exclusive)",
  );
  if (problems.length > 0) throw new DeviceIngestOptionsError(problems);
  return options;
}
