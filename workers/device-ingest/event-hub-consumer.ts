// Builds the consumer group client: connection string or workload identity, blob checkpoints, load-balancing options.
import { EventHubConsumerClient, type EventHubConsumerClientOptions } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { ContainerClient } from "@azure/storage-blob";
import { eventHubConnection, type EventHubConfig } from "../../shared/azure-clients.ts";
import type { DeviceIngestOptions } from "./device-ingest-options.ts";

export function createEventHubConsumer(
  config: EventHubConfig,
  checkpoints: ContainerClient,
  options: Pick<
    DeviceIngestOptions,
    "consumerGroup" | "loadBalancing" | "loadBalancingIntervalMs" | "ownershipExpiryMs"
  > & { ownerId: string },
): EventHubConsumerClient {
  const checkpointStore = new BlobCheckpointStore(checkpoints);
  const clientOptions: EventHubConsumerClientOptions = {
    // Ownership records name this replica, so operators (and tests) see which pod reads which partition.
    identifier: options.ownerId,
    loadBalancingOptions: {
      strategy: options.loadBalancing,
      updateIntervalInMs: options.loadBalancingIntervalMs,
      partitionOwnershipExpirationIntervalInMs: options.ownershipExpiryMs,
    },
  };
  const target = eventHubConnection(config);
  return "connectionString" in target
    ? new EventHubConsumerClient(
        options.consumerGroup,
        target.connectionString,
        target.eventHubName,
        checkpointStore,
        clientOptions,
      )
    : new EventHubConsumerClient(
        options.consumerGroup,
        target.namespace,
        target.eventHubName,
        target.credential,
        checkpointStore,
        clientOptions,
      );
}
