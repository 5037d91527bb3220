// Environment variables of `eventfleet worker device-ingest`, each with its default and why.
import { z } from "zod";
import { cosmosEnv, envVar, eventHubEnv, schemas, storageEnv, type ConfigOf } from "../../shared/config.ts";
import {
  DEVICE_INGEST_DEFAULTS as D,
  type DeviceIngestOptions,
  type DeviceIngestOptionsInput,
} from "./device-ingest-options.ts";

/** Defaults come from the options module (declared once there, beside the reason). */
const ms = (description: string, fallback: number) =>
  envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description,
    default: String(fallback),
  });

export const deviceIngestEnv = {
  ...eventHubEnv,
  ...storageEnv,
  ...cosmosEnv,
  DEVICE_INGEST_BATCH_SIZE: envVar(z.coerce.number().int().min(1).max(5000), {
    expects: "an integer 1-5000",
    description:
      "Most events handed to one batch per partition (one bulk write to Cosmos); lowered to fit the memory limit.",
    default: String(D.maxBatchSize),
  }),
  DEVICE_INGEST_BATCH_WAIT_MS: ms(
    "Longest wait for a batch to fill before processing what arrived.",
    D.maxWaitMs,
  ),
  DEVICE_INGEST_START_POSITION: envVar(z.enum(["earliest", "latest"]), {
    expects: "earliest or latest",
    description:
      "Where a partition without a checkpoint starts: its oldest retained event, or only new ones.",
    default: D.startPosition,
  }),
  DEVICE_INGEST_LOAD_BALANCING: envVar(z.enum(["balanced", "greedy"]), {
    expects: "balanced or greedy",
    description: "Partition claiming: one per interval (balanced) or all it can at once (greedy).",
    default: D.loadBalancing,
  }),
  DEVICE_INGEST_LB_INTERVAL_MS: ms(
    "How often a replica renews its ownerships and balances partitions.",
    D.loadBalancingIntervalMs,
  ),
  DEVICE_INGEST_OWNERSHIP_EXPIRY_MS: ms(
    "After this long without renewal a replica's partitions are free to take (a crashed replica).",
    D.ownershipExpiryMs,
  ),
  DEVICE_INGEST_CHECKPOINT_EVENTS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of events",
    description: "Checkpoint a partition after this many durable events (or after the interval).",
    default: String(D.checkpointEveryEvents),
  }),
  DEVICE_INGEST_CHECKPOINT_INTERVAL_MS: ms(
    "Checkpoint a partition with durable events at least this often (KEDA's lag count rises between checkpoints: see the chart's deviceIngest.checkpoint).",
    D.checkpointIntervalMs,
  ),
  DEVICE_INGEST_RETRY_MAX_MS: ms(
    "Longest pause between retries of Cosmos or the dead-letter queue.",
    D.retryMaxMs,
  ),
  DEVICE_INGEST_MAX_EVENT_BYTES: envVar(schemas.positiveInt, {
    expects: "a positive integer number of bytes",
    description:
      "Largest event body stored; larger ones are dead-lettered as too_large (body kept in blob storage).",
    default: String(D.maxEventBytes),
  }),
  DEVICE_INGEST_WRITE_MODE: envVar(z.enum(["bulk", "per-event"]), {
    expects: "bulk or per-event",
    description: "Cosmos writes per batch: bulk operations (default) or one request per event (benchmarks).",
    default: D.writeMode,
  }),
  DEVICE_INGEST_MEMORY_LIMIT_BYTES: envVar(schemas.positiveInt.optional(), {
    expects: "a positive integer number of bytes",
    description:
      "Memory limit that bounds batch size and prefetch (half of it for buffered events); unset: the container's cgroup limit.",
  }),
};

/** Which variable sets each option: an options error names the variable, not the option. */
export const DEVICE_INGEST_OPTION_VARIABLES: Partial<Record<keyof DeviceIngestOptions, string>> = {
  consumerGroup: "EVENTHUB_CONSUMER_GROUP",
  maxBatchSize: "DEVICE_INGEST_BATCH_SIZE",
  maxWaitMs: "DEVICE_INGEST_BATCH_WAIT_MS",
  startPosition: "DEVICE_INGEST_START_POSITION",
  loadBalancing: "DEVICE_INGEST_LOAD_BALANCING",
  loadBalancingIntervalMs: "DEVICE_INGEST_LB_INTERVAL_MS",
  ownershipExpiryMs: "DEVICE_INGEST_OWNERSHIP_EXPIRY_MS",
  checkpointEveryEvents: "DEVICE_INGEST_CHECKPOINT_EVENTS",
  checkpointIntervalMs: "DEVICE_INGEST_CHECKPOINT_INTERVAL_MS",
  retryMaxMs: "DEVICE_INGEST_RETRY_MAX_MS",
  maxEventBytes: "DEVICE_INGEST_MAX_EVENT_BYTES",
  writeMode: "DEVICE_INGEST_WRITE_MODE",
  memoryLimitBytes: "DEVICE_INGEST_MEMORY_LIMIT_BYTES",
};

export type DeviceIngestConfig = ConfigOf<typeof deviceIngestEnv>;

/** The component's options from configuration (names and meanings: device-ingest-options.ts). */
export function optionsFromConfig(config: DeviceIngestConfig): DeviceIngestOptionsInput {
  return {
    consumerGroup: config.EVENTHUB_CONSUMER_GROUP,
    maxBatchSize: config.DEVICE_INGEST_BATCH_SIZE,
    maxWaitMs: config.DEVICE_INGEST_BATCH_WAIT_MS,
    startPosition: config.DEVICE_INGEST_START_POSITION,
    loadBalancing: config.DEVICE_INGEST_LOAD_BALANCING,
    loadBalancingIntervalMs: config.DEVICE_INGEST_LB_INTERVAL_MS,
    ownershipExpiryMs: config.DEVICE_INGEST_OWNERSHIP_EXPIRY_MS,
    checkpointEveryEvents: config.DEVICE_INGEST_CHECKPOINT_EVENTS,
    checkpointIntervalMs: config.DEVICE_INGEST_CHECKPOINT_INTERVAL_MS,
    retryMaxMs: config.DEVICE_INGEST_RETRY_MAX_MS,
    maxEventBytes: config.DEVICE_INGEST_MAX_EVENT_BYTES,
    writeMode: config.DEVICE_INGEST_WRITE_MODE,
    memoryLimitBytes: config.DEVICE_INGEST_MEMORY_LIMIT_BYTES,
  };
}
