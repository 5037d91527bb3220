// Wires the device-ingest component from configuration: clients, store, dead-letter sink, consumer, checks, depth.
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import { ConfigError } from "../../shared/config.ts";
import { createCosmosClient, createStorageClients } from "../../shared/azure-clients.ts";
import type { Logger } from "../../shared/logger.ts";
import type { ReadinessCheck } from "../../shared/management-server.ts";
import { buildTopology } from "../../shared/topology/topology.ts";
import { optionsFromConfig, type DeviceIngestConfig } from "./config.ts";
import { DeadLetterSink } from "./dead-letter-sink.ts";
import { DeviceIngest } from "./device-ingest.ts";
import { resolveDeviceIngestOptions, type DeviceIngestOptionsInput } from "./device-ingest-options.ts";
import { DeviceStore } from "./device-store.ts";
import { createEventHubConsumer } from "./event-hub-consumer.ts";
import { createIngestMetrics } from "./ingest-metrics.ts";

export interface ComposedDeviceIngest {
  ingest: DeviceIngest;
  /** Owner id in the checkpoint store's ownership records: `<hostname>-<pid>` (the pod name in AKS). */
  ownerId: string;
  checks: ReadinessCheck[];
  /** Subscribes and starts refreshing the dead-letter queue depth. */
  start(): void;
  /** Drains (see DeviceIngest.stop) and releases the clients. */
  stop(): Promise<void>;
}

function required(config: DeviceIngestConfig): { cosmosEndpoint: string } {
  if (!config.COSMOS_ENDPOINT) {
    throw new ConfigError(
      "COSMOS_ENDPOINT",
      "COSMOS_ENDPOINT: got nothing (unset), expected a Cosmos DB endpoint",
    );
  }
  if (!config.EVENTHUB_CONNECTION_STRING && !config.EVENTHUB_NAMESPACE) {
    throw new ConfigError(
      "EVENTHUB_CONNECTION_STRING",
      "EVENTHUB_CONNECTION_STRING: got nothing (unset), expected a connection string (or set EVENTHUB_NAMESPACE)",
    );
  }
  if (!config.STORAGE_CONNECTION_STRING && !config.STORAGE_ACCOUNT_URL) {
    throw new ConfigError(
      "STORAGE_CONNECTION_STRING",
      "STORAGE_CONNECTION_STRING: got nothing (unset), expected a connection string (or set STORAGE_ACCOUNT_URL)",
    );
  }
  return { cosmosEndpoint: config.COSMOS_ENDPOINT };
}

export function composeDeviceIngest(
  config: DeviceIngestConfig & { EVENTFLEET_ENV: string },
  context: { logger: Logger; registry: Registry; overrides?: Partial<DeviceIngestOptionsInput> },
): ComposedDeviceIngest {
  const { cosmosEndpoint } = required(config);
  const { logger, registry } = context;
  let options;
  try {
    options = resolveDeviceIngestOptions({ ...optionsFromConfig(config), ...context.overrides });
  } catch (error) {
    // Only combinations can be wrong here (each variable was validated alone): ownership expiry vs interval.
    throw new ConfigError(
      "DEVICE_INGEST_OWNERSHIP_EXPIRY_MS",
      `DEVICE_INGEST_OWNERSHIP_EXPIRY_MS / DEVICE_INGEST_LB_INTERVAL_MS: ${(error as Error).message}`,
    );
  }
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
  const cosmos = createCosmosClient({ COSMOS_ENDPOINT: cosmosEndpoint, COSMOS_KEY: config.COSMOS_KEY });
  const database = cosmos.database(topology.cosmos.database);
  const queue = storage.queue.getQueueClient(topology.storageQueue);
  const checkpoints = storage.blob.getContainerClient(topology.blobContainers.checkpoints);
  const metrics = createIngestMetrics(registry);
  const backoff = { baseMs: options.retryBaseMs, maxMs: options.retryMaxMs };
  const ownerId = `${hostname()}-${process.pid}`;

  const ingest = new DeviceIngest({
    consumer: createEventHubConsumer(config, checkpoints, { ...options, ownerId }),
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

  const checks: ReadinessCheck[] = [
    {
      name: "subscribed",
      check: () => {
        if (!ingest.subscribed) throw new Error("not subscribed to the consumer group");
      },
    },
    {
      name: "cosmos",
      check: async () => {
        await database.container("telemetry").read();
      },
    },
    {
      name: "deadletter-queue",
      check: async () => {
        await queue.getProperties();
      },
    },
    {
      name: "checkpoint-store",
      check: async () => {
        if (!(await checkpoints.exists()))
          throw new Error(`blob container ${checkpoints.containerName} is missing`);
      },
    },
  ];

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
    checks,
    start() {
      void refreshDepth();
      depthTimer = setInterval(() => void refreshDepth(), options.queueDepthCacheMs);
      depthTimer.unref();
      ingest.start();
      logger.info(
        {
          ownerId,
          eventHub: topology.eventHub.name,
          consumerGroup: options.consumerGroup,
          database: topology.cosmos.database,
          deadLetterQueue: topology.storageQueue,
        },
        "subscribed; partitions are claimed by load balancing",
      );
    },
    async stop() {
      clearInterval(depthTimer);
      await ingest.stop();
      cosmos.dispose();
    },
  };
}
