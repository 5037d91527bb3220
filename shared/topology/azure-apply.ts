// Creates or verifies the Blob containers, the Storage Queue and the Cosmos database; verifies the Event Hub.
import type { CosmosClient } from "@azure/cosmos";
import type { EventHubProducerClient } from "@azure/event-hubs";
import type { BlobServiceClient } from "@azure/storage-blob";
import type { QueueServiceClient } from "@azure/storage-queue";
import type { ApplyReporter } from "./apply-report.ts";
import type { Topology } from "./topology.ts";

interface AzureApplyOptions {
  topology: Topology;
  dryRun: boolean;
  report: ApplyReporter;
}

export async function applyStorage(
  { topology, dryRun, report }: AzureApplyOptions,
  blob: BlobServiceClient,
  queue: QueueServiceClient,
): Promise<void> {
  for (const name of [topology.blobContainers.checkpoints, topology.blobContainers.deadletter]) {
    const container = blob.getContainerClient(name);
    if (await container.exists()) report({ kind: "blob container", name, action: "exists" });
    else if (dryRun) report({ kind: "blob container", name, action: "would create" });
    else {
      await container.createIfNotExists();
      report({ kind: "blob container", name, action: "created" });
    }
  }
  const storageQueue = queue.getQueueClient(topology.storageQueue);
  if (await storageQueue.exists())
    report({ kind: "storage queue", name: topology.storageQueue, action: "exists" });
  else if (dryRun) report({ kind: "storage queue", name: topology.storageQueue, action: "would create" });
  else {
    await storageQueue.createIfNotExists();
    report({ kind: "storage queue", name: topology.storageQueue, action: "created" });
  }
}

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

export async function applyCosmos(
  { topology, dryRun, report }: AzureApplyOptions,
  cosmos: CosmosClient,
): Promise<void> {
  const { database: id, containers } = topology.cosmos;
  let databaseExists = true;
  try {
    await cosmos.database(id).read();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    databaseExists = false;
  }
  if (databaseExists) report({ kind: "cosmos database", name: id, action: "exists" });
  else if (dryRun) report({ kind: "cosmos database", name: id, action: "would create" });
  else {
    await cosmos.databases.createIfNotExists({ id });
    report({ kind: "cosmos database", name: id, action: "created" });
  }
  for (const { name, partitionKey } of containers) {
    const qualified = `${id}/${name}`;
    let exists = databaseExists;
    if (exists) {
      try {
        const { resource } = await cosmos.database(id).container(name).read();
        const current = resource?.partitionKey?.paths?.[0];
        if (current !== partitionKey) {
          // A container's partition key cannot change: say so rather than pretend.
          throw new Error(
            `cosmos container ${qualified} has partition key ${current ?? "(none)"}, expected ${partitionKey}; ` +
              "recreate it (partition keys are immutable)",
          );
        }
      } catch (error) {
        if (!isNotFound(error)) throw error;
        exists = false;
      }
    }
    if (exists)
      report({
        kind: "cosmos container",
        name: qualified,
        action: "exists",
        detail: `partition key ${partitionKey}`,
      });
    else if (dryRun) report({ kind: "cosmos container", name: qualified, action: "would create" });
    else {
      await cosmos
        .database(id)
        .containers.createIfNotExists({ id: name, partitionKey: { paths: [partitionKey] } });
      report({
        kind: "cosmos container",
        name: qualified,
        action: "created",
        detail: `partition key ${partitionKey}`,
      });
    }
  }
}

/** Event Hubs are made with the namespace (IaC or the emulator's flags): apply only checks that ours is there. */
export async function verifyEventHub(
  { topology, report }: AzureApplyOptions,
  producer: EventHubProducerClient,
): Promise<{ partitionIds: string[] }> {
  try {
    const properties = await producer.getEventHubProperties();
    report({
      kind: "event hub",
      name: properties.name,
      action: "verified",
      detail: `${properties.partitionIds.length} partitions: ${properties.partitionIds.join(", ")}`,
    });
    return { partitionIds: properties.partitionIds };
  } catch (error) {
    throw new Error(
      `event hub ${topology.eventHub.name} cannot be read (${(error as Error).message}); create it in the namespace ` +
        "(or start the emulator with --hub) and check EVENTHUB_CONNECTION_STRING / EVENTHUB_NAMESPACE",
      { cause: error },
    );
  } finally {
    await producer.close();
  }
}
