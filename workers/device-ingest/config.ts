// Environment variables of `eventfleet worker device-ingest`, each with its default and why.
import { z } from "zod";
import { cosmosEnv, envVar, eventHubEnv, schemas, storageEnv, type ConfigOf } from "../../shared/config.ts";
import type { DeviceIngestOptionsInput } from "./device-ingest-options.ts";

const ms = (description: string, fallback: string) =>
  envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description,
    default: fallback,
  });

export const deviceIngestEnv = {
  ...eventHubEnv,
  ...storageEnv,
  ...cosmosEnv,
  DEVICE_INGEST_BATCH_SIZE: envVar(z.coerce.number().int().min(1).max(5000), {
    expects: "an integer 1-5000",
    description: "Most events handed to one batch per partition (one bulk write to Cosmos).",
    default: "500",
  }),
  DEVICE_INGEST_BATCH_WAIT_MS: ms("Longest wait for a batch to fill before processing what arrived.", "1000"),
  DEVICE_INGEST_START_POSITION: envVar(z.enum(["earliest", "latest"]), {
    expects: "earliest or latest",
    description:
      "Where a partition without a checkpoint starts: its oldest retained event, or only new ones.",
    default: "earliest",
  }),
  DEVICE_INGEST_LOAD_BALANCING: envVar(z.enum(["balanced", "greedy"]), {
    expects: "balanced or greedy",
    description: "Partition claiming: one per interval (balanced) or all it can at once (greedy).",
    default: "balanced",
  }),
  DEVICE_INGEST_LB_INTERVAL_MS: ms(
    "How often a replica renews its ownerships and balances partitions.",
    "10000",
  ),
  DEVICE_INGEST_OWNERSHIP_EXPIRY_MS: ms(
    "After this long without renewal a replica's partitions are free to take (a crashed replica).",
    "60000",
  ),
  DEVICE_INGEST_CHECKPOINT_EVENTS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of events",
    description: "Checkpoint a partition after this many durable events (or after the interval).",
    default: "1000",
  }),
  DEVICE_INGEST_CHECKPOINT_INTERVAL_MS: ms(
    "Checkpoint a partition with durable events at least this often.",
    "5000",
  ),
  DEVICE_INGEST_RETRY_MAX_MS: ms(
    "Longest pause between retries of Cosmos or the dead-letter queue.",
    "30000",
  ),
  DEVICE_INGEST_MAX_EVENT_BYTES: envVar(schemas.positiveInt, {
    expects: "a positive integer number of bytes",
    description:
      "Largest event body stored; larger ones are dead-lettered as too_large (body kept in blob storage).",
    default: "262144",
  }),
  DEVICE_INGEST_WRITE_MODE: envVar(z.enum(["bulk", "per-event"]), {
    expects: "bulk or per-event",
    description: "Cosmos writes per batch: bulk operations (default) or one request per event (benchmarks).",
    default: "bulk",
  }),
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
  };
}
