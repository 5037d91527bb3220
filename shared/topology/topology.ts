// The one declaration of every cloud resource eventfleet uses; `infra apply`, the chart and the tests read it.
import type { OrderEventType } from "../events/order-events.ts";

export const SQS_WORKERS = ["inventory", "shipment", "notification"] as const;
export type SqsWorker = (typeof SQS_WORKERS)[number];

/**
 * The environment variables naming a worker's queue and dead-letter queue: `infra apply` writes them, the worker
 * role and `eventfleet dlq` read them (the chart renders the same names from its role table).
 */
export function workerQueueVariables<W extends string>(worker: W) {
  const upper = worker.toUpperCase() as Uppercase<W>;
  return { queueUrl: `${upper}_QUEUE_URL`, dlqUrl: `${upper}_DLQ_URL` } as const;
}

/** Which order events each worker's queue receives (SNS filter policy on the `type` attribute). */
export const FILTERS: Record<SqsWorker, readonly OrderEventType[]> = {
  inventory: ["order.placed", "order.cancelled"],
  shipment: ["inventory.reserved", "order.cancelled"],
  notification: ["order.placed", "inventory.rejected", "order.shipped", "order.cancelled"],
};

export interface QueueDeclaration {
  worker: SqsWorker;
  name: string;
  dlqName: string;
  filterTypes: readonly OrderEventType[];
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** 14 days, the SQS maximum, so a DLQ holds poison long enough to be looked at. */
  retentionSeconds: number;
}

export interface Topology {
  env: string;
  topicName: string;
  queues: QueueDeclaration[];
  blobContainers: { checkpoints: string; deadletter: string };
  storageQueue: string;
  cosmos: { database: string; containers: { name: string; partitionKey: string }[] };
  eventHub: { name: string; consumerGroup: string };
}

export interface TopologyOptions {
  env: string;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  cosmosDatabase?: string;
  eventHubName?: string;
  consumerGroup?: string;
  /** Blob container of checkpoints and ownership; default `<env>-checkpoints`. */
  checkpointContainer?: string;
}

export const MAX_RETENTION_SECONDS = 14 * 24 * 3600;

export function buildTopology(options: TopologyOptions): Topology {
  const prefix = (name: string) => `${options.env}-${name}`;
  return {
    env: options.env,
    topicName: prefix("orders"),
    queues: SQS_WORKERS.map((worker) => ({
      worker,
      name: prefix(worker),
      dlqName: prefix(`${worker}-dlq`),
      filterTypes: FILTERS[worker],
      maxReceiveCount: options.maxReceiveCount ?? 5,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      retentionSeconds: MAX_RETENTION_SECONDS,
    })),
    blobContainers: {
      checkpoints: options.checkpointContainer ?? prefix("checkpoints"),
      deadletter: prefix("deadletter"),
    },
    storageQueue: prefix("telemetry-deadletter"),
    cosmos: {
      database: options.cosmosDatabase ?? prefix("eventfleet"),
      containers: [
        { name: "telemetry", partitionKey: "/deviceId" },
        { name: "devices", partitionKey: "/deviceId" },
      ],
    },
    eventHub: {
      name: options.eventHubName ?? "telemetry",
      consumerGroup: options.consumerGroup ?? "device-ingest",
    },
  };
}

/** The SNS filter policy of a queue's subscription. */
export function filterPolicy(queue: QueueDeclaration): string {
  return JSON.stringify({ type: [...queue.filterTypes] });
}
