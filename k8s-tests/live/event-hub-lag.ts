// The Event Hubs lag as KEDA defines it (azure-eventhub scaler, blobMetadata checkpoints), computed from the hub's
// partition properties and the checkpoints our worker writes; and the device-ingest worker run as a process to
// write them. Uses the emulators of the live run (EVENTHUB_CONNECTION_STRING, STORAGE_CONNECTION_STRING).
import { join } from "node:path";
import { EventHubConsumerClient, EventHubProducerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";
import { ManagedProcess } from "../../dev/stack/managed-process.ts";
import { anyFreePort } from "../../dev/stack/ports.ts";
import { waitFor } from "../../test/support/wait.ts";
import { ROOT } from "../support/chart.ts";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} missing: the live runner passes the emulators' endpoints`);
  return value;
}

const hubName = () => process.env.EVENTHUB_NAME ?? "telemetry";
const consumerGroup = () => process.env.EVENTHUB_CONSUMER_GROUP ?? "device-ingest";
const checkpointContainer = () => `${env("EVENTFLEET_ENV")}-checkpoints`;

export interface Lag {
  total: number;
  partitions: Record<string, number>;
}

/**
 * Per partition, what KEDA 2.16's azure-eventhub scaler counts: nothing in an empty partition; with a checkpoint,
 * last enqueued − checkpointed sequence number; without one, every retained event.
 */
export async function eventHubLag(): Promise<Lag> {
  const client = new EventHubConsumerClient(consumerGroup(), env("EVENTHUB_CONNECTION_STRING"), hubName());
  try {
    const store = new BlobCheckpointStore(
      new ContainerClient(env("STORAGE_CONNECTION_STRING"), checkpointContainer()),
    );
    const checkpoints = await store.listCheckpoints(
      client.fullyQualifiedNamespace,
      hubName(),
      consumerGroup(),
    );
    const partitions: Record<string, number> = {};
    for (const id of await client.getPartitionIds()) {
      const p = await client.getPartitionProperties(id);
      const checkpoint = checkpoints.find((c) => c.partitionId === id);
      if (p.isEmpty || p.lastEnqueuedSequenceNumber === -1) partitions[id] = 0;
      else if (checkpoint) partitions[id] = p.lastEnqueuedSequenceNumber - checkpoint.sequenceNumber;
      else partitions[id] = p.lastEnqueuedSequenceNumber - p.beginningSequenceNumber + 1;
    }
    return { total: Object.values(partitions).reduce((a, b) => a + b, 0), partitions };
  } finally {
    await client.close();
  }
}

/** Sends `count` device events round-robin over the partitions. */
export async function sendEvents(count: number): Promise<void> {
  const producer = new EventHubProducerClient(env("EVENTHUB_CONNECTION_STRING"), hubName());
  try {
    const ids = await producer.getPartitionIds();
    for (const [i, id] of ids.entries()) {
      const events = Array.from({ length: count }, (_, n) => n)
        .filter((n) => n % ids.length === i)
        .map((n) => ({
          body: {
            deviceId: `live-${n % 7}`,
            eventId: `live-${process.pid}-${n}`,
            type: "telemetry",
            ts: new Date().toISOString(),
            payload: { t: 20 + (n % 5) },
          },
        }));
      if (events.length > 0) await producer.sendBatch(events, { partitionId: id });
    }
  } finally {
    await producer.close();
  }
}

/** Runs the real device-ingest worker until no partition has unprocessed events, then stops it (SIGTERM). */
export async function runDeviceIngestUntilCheckpointed(timeoutMs = 180_000): Promise<void> {
  const worker = new ManagedProcess({
    name: "device-ingest",
    command: process.execPath,
    args: [join(ROOT, "bin/eventfleet.js"), "worker", "device-ingest"],
    env: { ...process.env, MANAGEMENT_PORT: String(await anyFreePort()), LOG_LEVEL: "warn" },
    logFile: join(process.env.TMPDIR ?? "/tmp", `eventfleet-live-device-ingest-${process.pid}.log`),
  });
  try {
    await waitFor(
      async () => {
        if (!worker.running) throw new Error(`device-ingest exited (${worker.child.exitCode})`);
        return (await eventHubLag()).total === 0;
      },
      { timeoutMs, intervalMs: 1000, description: "device-ingest checkpointed every event" },
    );
  } finally {
    await worker.stop(30_000);
  }
}
