// Wires the device-ingest component from configuration: clients, store, dead-letter sink, consumer, checks, depth.
import { hostname } from "node:os";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { Registry } from "prom-client";
import { cachedCheck } from "../../shared/cached-check.ts";
import { ConfigError } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { createCosmosClient, createStorageClients } from "../../shared/azure-clients.ts";
import type { Logger } from "../../shared/logger.ts";
import type { Component } from "../../shared/component.ts";
import type { ReadinessCheck } from "../../shared/management-server.ts";
import { buildTopology } from "../../shared/topology/topology.ts";
import { DEVICE_INGEST_OPTION_VARIABLES, optionsFromConfig, type DeviceIngestConfig } from "./config.ts";
import { DeadLetterSink } from "./dead-letter-sink.ts";
import { DeviceIngest } from "./device-ingest.ts";
import {
  DeviceIngestOptionsError,
  resolveDeviceIngestOptions,
  type DeviceIngestOptions,
  type DeviceIngestOptionsInput,
} from "./device-ingest-options.ts";
import { DeviceStore } from "./device-store.ts";
import { createEventHubConsumer } from "./event-hub-consumer.ts";
import { createIngestMetrics } from "./ingest-metrics.ts";
import { containerMemoryLimit, receiveSizing } from "./memory-budget.ts";
import { PartitionOwnership } from "./partition-ownership.ts";

export interface ComposedDeviceIngest extends Component {
  ingest: DeviceIngest;
  /** Owner id in the checkpoint store's ownership records: `<hostname>-<pid>` (the pod name in AKS). */
  ownerId: string;
  /** Subscribes and starts refreshing the dead-letter queue depth. */
  start(): void;
  /** Drains (see DeviceIngest.stop) and releases the clients. */
  stop(): Promise<void>;
}

/** Every missing connection setting at once (one line each), not one per start. */
function required(config: DeviceIngestConfig): { cosmosEndpoint: string } {
  const missing: [string, string][] = [];
  if (!config.COSMOS_ENDPOINT) missing.push(["COSMOS_ENDPOINT", "a Cosmos DB endpoint"]);
  if (!config.EVENTHUB_CONNECTION_STRING && !config.EVENTHUB_NAMESPACE)
    missing.push(["EVENTHUB_CONNECTION_STRING", "a connection string (or set EVENTHUB_NAMESPACE)"]);
  if (!config.STORAGE_CONNECTION_STRING && !config.STORAGE_ACCOUNT_URL)
    missing.push(["STORAGE_CONNECTION_STRING", "a connection string (or set STORAGE_ACCOUNT_URL)"]);
  if (missing.length > 0) {
    throw new ConfigError(
      missing[0]![0],
      missing.map(([name, expected]) => `${name}: got nothing (unset), expected ${expected}`).join("\n"),
    );
  }
  return { cosmosEndpoint: config.COSMOS_ENDPOINT! };
}

/** Options from configuration; a wrong combination is reported naming the variables that set it, all at once. */
function resolveOptions(
  config: DeviceIngestConfig,
  overrides: Partial<DeviceIngestOptionsInput> | undefined,
): DeviceIngestOptions {
  try {
    return resolveDeviceIngestOptions({ ...optionsFromConfig(config), ...overrides });
  } catch (error) {
    if (!(error instanceof DeviceIngestOptionsError)) throw error;
    const lines = error.problems.map(({ option, problem }) => {
      const variable = DEVICE_INGEST_OPTION_VARIABLES[option];
      return variable ? `${variable}: ${problem} (option ${option})` : `${option} ${problem}`;
    });
    throw new ConfigError(DEVICE_INGEST_OPTION_VARIABLES[error.problems[0]!.option] ?? "", lines.join("\n"));
  }
}

/** Readiness of the work itself: receiving on the partitions it owns, or none available for it. */
const RECEIVE_STALE_AFTER_MS = 30_000;

export function composeDeviceIngest(
  config: DeviceIngestConfig & { EVENTFLEET_ENV: string },
  context: { logger: Logger; registry: Registry; overrides?: Partial<DeviceIngestOptionsInput> },
): ComposedDeviceIngest {
  const { cosmosEndpoint } = required(config);
  const { logger, registry } = context;
  const options = resolveOptions(config, context.overrides);
  const topology = buildTopology({
    env: config.EVENTFLEET_ENV,
    ...(config.COSMOS_DATABASE ? { cosmosDatabase: config.COSMOS_DATABASE } : {}),
    ...(config.EVENTHUB_CHECKPOINT_CONTAINER
      ? { checkpointContainer: config.EVENTHUB_CHECKPOINT_CONTAINER }
      : {}),
    eventHubName: config.EVENTHUB_NAME,
    consumerGroup: options.consumerGroup,
  });
  const storage = createStorageClients(config);
  const cosmos = createCosmosClient({
    COSMOS_ENDPOINT: cosmosEndpoint,
    COSMOS_KEY: config.COSMOS_KEY,
    COSMOS_EMULATOR: config.COSMOS_EMULATOR,
  });
  const database = cosmos.database(topology.cosmos.database);
  const queue = storage.queue.getQueueClient(topology.storageQueue);
  const checkpoints = storage.blob.getContainerClient(topology.blobContainers.checkpoints);
  const metrics = createIngestMetrics(registry);
  const backoff = { baseMs: options.retryBaseMs, maxMs: options.retryMaxMs };
  const ownerId = `${hostname()}-${process.pid}`;
  const consumer = createEventHubConsumer(config, checkpoints, { ...options, ownerId });

  const ingest = new DeviceIngest({
    consumer,
    ownership: new PartitionOwnership(checkpoints, ownerId),
    store: new DeviceStore({
      telemetry: database.container("telemetry"),
      devices: database.container("devices"),
      mode: options.writeMode,
      backoff,
      metrics,
      logger,
    }),
    deadLetters: new DeadLetterSink({
      queue,
      blobs: storage.blob.getContainerClient(topology.blobContainers.deadletter),
      eventHub: topology.eventHub.name,
      consumerGroup: options.consumerGroup,
      backoff,
      metrics,
      logger,
    }),
    metrics,
    logger,
    options,
  });

  /** Set once the hub's partitions are known and the subscription is made (see start). */
  let partitionIds: string[] | undefined;
  let startupProblem = "reading the hub's partition count";
  const memoryLimitBytes = options.memoryLimitBytes ?? containerMemoryLimit();

  // Dependency checks answer from their last result (cached-check.ts): a slow Cosmos must not time the probe out.
  // start() primes them: their first round trips overlap the subscription instead of following the first probe.
  const dependencyChecks = [
    cachedCheck("cosmos", async () => {
      await database.container("telemetry").read({ abortSignal: AbortSignal.timeout(10_000) });
    }),
    cachedCheck("deadletter-queue", async () => {
      await queue.getProperties({ abortSignal: AbortSignal.timeout(10_000) });
    }),
    cachedCheck("checkpoint-store", async () => {
      if (!(await checkpoints.exists({ abortSignal: AbortSignal.timeout(10_000) })))
        throw new Error(`blob container ${checkpoints.containerName} is missing`);
    }),
  ];
  const checks: ReadinessCheck[] = [
    {
      name: "subscribed",
      check: () => {
        if (!partitionIds) throw new Error(`not subscribed yet: ${startupProblem}`);
        if (!ingest.subscribed) throw new Error("not subscribed to the consumer group");
      },
    },
    cachedCheck(
      "partitions",
      async () => {
        const now = Date.now();
        const owned = ingest.ownedPartitions();
        const silent = owned.filter((p) => !p.busy && now - p.lastReceiveAt > RECEIVE_STALE_AFTER_MS);
        if (silent.length > 0) {
          throw new Error(
            `nothing received on partition(s) ${silent.map((p) => p.partitionId).join(", ")} for ${RECEIVE_STALE_AFTER_MS / 1000} s: is AMQP (port 5671/443) to the Event Hubs namespace allowed?`,
          );
        }
        if (owned.length > 0 || !partitionIds) return;
        // Owning nothing is fine only when every partition has a live owner (more replicas than partitions).
        const live = new Set(
          (await listOwnership())
            .filter((o) => o.ownerId && now - (o.lastModifiedTimeInMs ?? 0) < options.ownershipExpiryMs)
            .map((o) => o.partitionId),
        );
        const free = partitionIds.filter((id) => !live.has(id));
        if (free.length > 0)
          throw new Error(
            `owns no partition while ${free.length} have no live owner (partitions ${free.join(", ")})`,
          );
      },
      { refreshMs: 2000 },
    ),
    ...dependencyChecks,
  ];
  const ownershipStore = new BlobCheckpointStore(checkpoints);
  const listOwnership = () =>
    ownershipStore.listOwnership(
      consumer.fullyQualifiedNamespace,
      consumer.eventHubName,
      options.consumerGroup,
      {
        abortSignal: AbortSignal.timeout(10_000),
      },
    );

  /** Reads the partition count (retrying until it can), sizes batches and prefetch from the memory limit, subscribes. */
  let stopped = false;
  const subscribe = async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        partitionIds = await consumer.getPartitionIds({ abortSignal: AbortSignal.timeout(30_000) });
        break;
      } catch (error) {
        startupProblem = `reading the hub's partition count failed (attempt ${attempt}): ${errorMessage(error)}`;
        logger.warn({ err: errorMessage(error) }, startupProblem);
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** attempt)).unref());
      }
    }
    if (stopped || !partitionIds) return;
    const sizing = receiveSizing({
      memoryLimitBytes,
      eventBufferShare: options.eventBufferShare,
      partitions: partitionIds.length,
      maxEventBytes: options.maxEventBytes,
      maxBatchSize: options.maxBatchSize,
    });
    ingest.start(sizing);
    logger.info(
      {
        ownerId,
        eventHub: topology.eventHub.name,
        consumerGroup: options.consumerGroup,
        database: topology.cosmos.database,
        deadLetterQueue: topology.storageQueue,
        partitions: partitionIds.length,
        memoryLimitBytes: memoryLimitBytes ?? null,
        maxBatchSize: sizing.maxBatchSize,
        prefetchCount: sizing.prefetchCount,
        worstCaseBufferedBytes: sizing.worstCaseBytes,
      },
      "subscribed; partitions are claimed by load balancing",
    );
  };

  const depthLabels = { queue: "telemetry-deadletter", kind: "dlq" };
  const refreshDepth = async () => {
    try {
      const properties = await queue.getProperties();
      metrics.queueDepth.set(depthLabels, properties.approximateMessagesCount ?? 0);
    } catch {
      // Readiness reports the queue being unreachable; the gauge keeps its last value.
    }
  };
  let depthTimer: NodeJS.Timeout | undefined;

  return {
    ingest,
    ownerId,
    readinessChecks: () => checks,
    start() {
      for (const check of dependencyChecks) check.prime();
      void refreshDepth();
      depthTimer = setInterval(() => void refreshDepth(), options.queueDepthCacheMs);
      depthTimer.unref();
      void subscribe();
    },
    async stop() {
      stopped = true;
      clearInterval(depthTimer);
      await ingest.stop();
      cosmos.dispose();
    },
  };
}
