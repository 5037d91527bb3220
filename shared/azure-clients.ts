// Builds the Azure SDK clients from configuration: the one place that knows local emulators from Azure.
import { Agent } from "node:https";
import { CosmosClient } from "@azure/cosmos";
import { EventHubProducerClient } from "@azure/event-hubs";
import type { TokenCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { azureCredential } from "./azure-credential.ts";

export interface StorageConfig {
  STORAGE_CONNECTION_STRING?: string | undefined;
  STORAGE_ACCOUNT_URL?: string | undefined;
}

/** A storage account's blob and queue endpoints from a connection string (local) or an account URL (workload identity). */
export function createStorageClients(config: StorageConfig): {
  blob: BlobServiceClient;
  queue: QueueServiceClient;
} {
  if (config.STORAGE_CONNECTION_STRING) {
    return {
      blob: BlobServiceClient.fromConnectionString(config.STORAGE_CONNECTION_STRING),
      queue: QueueServiceClient.fromConnectionString(config.STORAGE_CONNECTION_STRING),
    };
  }
  if (config.STORAGE_ACCOUNT_URL) {
    const credential = azureCredential();
    const account = new URL(config.STORAGE_ACCOUNT_URL);
    const queueUrl = new URL(account);
    queueUrl.hostname = account.hostname.replace(".blob.", ".queue.");
    return {
      blob: new BlobServiceClient(account.toString(), credential),
      queue: new QueueServiceClient(queueUrl.toString(), credential),
    };
  }
  throw new Error("set STORAGE_CONNECTION_STRING (local) or STORAGE_ACCOUNT_URL (workload identity)");
}

export interface CosmosConfig {
  COSMOS_ENDPOINT: string;
  COSMOS_KEY?: string | undefined;
  /** The endpoint is the local emulator; default: whether it is on this machine's loopback. */
  COSMOS_EMULATOR?: boolean | undefined;
}

/** True for an endpoint on this machine: the local Cosmos emulator, whose self-signed certificate has expired. */
export function isLocalEndpoint(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
}

export function createCosmosClient(config: CosmosConfig): CosmosClient {
  const local = config.COSMOS_EMULATOR ?? isLocalEndpoint(config.COSMOS_ENDPOINT);
  return new CosmosClient({
    endpoint: config.COSMOS_ENDPOINT,
    ...(config.COSMOS_KEY ? { key: config.COSMOS_KEY } : { aadCredentials: azureCredential() }),
    // Local emulator only: its certificate is self-signed and expired, and it has no other regions to discover.
    ...(local
      ? {
          agent: new Agent({ rejectUnauthorized: false, keepAlive: true }),
          connectionPolicy: { enableEndpointDiscovery: false },
        }
      : {}),
  });
}

export interface EventHubConfig {
  EVENTHUB_CONNECTION_STRING?: string | undefined;
  EVENTHUB_NAMESPACE?: string | undefined;
  EVENTHUB_NAME: string;
}

/** How to reach the hub: a connection string locally, the namespace with workload identity in AKS. */
export function eventHubConnection(
  config: EventHubConfig,
):
  | { connectionString: string; eventHubName: string }
  | { namespace: string; eventHubName: string; credential: TokenCredential } {
  if (config.EVENTHUB_CONNECTION_STRING) {
    return { connectionString: config.EVENTHUB_CONNECTION_STRING, eventHubName: config.EVENTHUB_NAME };
  }
  if (config.EVENTHUB_NAMESPACE) {
    return {
      namespace: config.EVENTHUB_NAMESPACE,
      eventHubName: config.EVENTHUB_NAME,
      credential: azureCredential(),
    };
  }
  throw new Error("set EVENTHUB_CONNECTION_STRING (local) or EVENTHUB_NAMESPACE (workload identity)");
}

export function createEventHubProducer(config: EventHubConfig): EventHubProducerClient {
  const target = eventHubConnection(config);
  return "connectionString" in target
    ? new EventHubProducerClient(target.connectionString, target.eventHubName)
    : new EventHubProducerClient(target.namespace, target.eventHubName, target.credential);
}
