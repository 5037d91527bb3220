// Contract test: two consumers with a Blob checkpoint store (azurite) share, hand over and resume partitions.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import type { PartitionContext, ReceivedEventData, Subscription } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";
import { getStack } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";
import { errorCode, Resources, startTestEmulator, uniqueName } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

/** Short intervals so that a takeover takes about a second; greedy claims every free partition at once. */
const LOAD_BALANCING = {
  strategy: "greedy" as const,
  updateIntervalInMs: 1000,
  partitionOwnershipExpirationIntervalInMs: 6000,
};

let storageConnectionString: string;
before(async () => {
  const { env } = await getStack();
  const connectionString = env.STORAGE_CONNECTION_STRING;
  assert.ok(connectionString, "the test stack has no STORAGE_CONNECTION_STRING");
  storageConnectionString = connectionString;
});
after(() => resources.closeAll());

/** A consumer client with a checkpoint store that records what it owns and receives, checkpointing each batch. */
function startProcessor(connectionString: string, container: ContainerClient, name: string) {
  const client = resources.add(
    new EventHubConsumerClient("device-ingest", connectionString, new BlobCheckpointStore(container), {
      loadBalancingOptions: LOAD_BALANCING,
      identifier: name,
    }),
  );
  const owned = new Set<string>();
  const received: { partitionId: string; event: ReceivedEventData }[] = [];
  const errors: Error[] = [];
  const subscription: Subscription = client.subscribe(
    {
      processInitialize: async (context: PartitionContext) => {
        owned.add(context.partitionId);
        await Promise.resolve();
      },
      processClose: async (_reason, context: PartitionContext) => {
        owned.delete(context.partitionId);
        await Promise.resolve();
      },
      processEvents: async (events, context) => {
        for (const event of events) received.push({ partitionId: context.partitionId, event });
        if (events.length > 0) await context.updateCheckpoint(events.at(-1)!);
      },
      processError: async (error) => {
        errors.push(error);
        await Promise.resolve();
      },
    },
    { startPosition: earliestEventPosition, maxBatchSize: 200, maxWaitTimeInSeconds: 1 },
  );
  resources.add(subscription);
  return { client, subscription, owned, received, errors };
}

void describe("load balancing with a Blob checkpoint store", () => {
  void test("two consumers settle on 2 + 2, one takes all 4 when the other leaves, and resumes without gaps or duplicates", async (t) => {
    const { emulator, hub } = await startTestEmulator(resources);
    const connectionString = emulator.connectionString(hub);
    const container = new ContainerClient(storageConnectionString, uniqueName("checkpoints"));
    await container.create();
    resources.add({ close: () => container.delete() });

    const a = startProcessor(connectionString, container, "processor-a");
    const b = startProcessor(connectionString, container, "processor-b");
    // Claims race at first (both start with nothing owned); wait for a disjoint 2 + 2 covering all 4.
    await waitFor(
      () => a.owned.size === 2 && b.owned.size === 2 && new Set([...a.owned, ...b.owned]).size === 4,
      { timeoutMs: 60_000, description: "ownership to settle on 2 + 2" },
    );

    const producer = resources.add(new EventHubProducerClient(connectionString));
    const perPartition = 25;
    for (const partitionId of ["0", "1", "2", "3"]) {
      await producer.sendBatch(
        Array.from({ length: perPartition }, (_, i) => ({ body: { partitionId, i } })),
        { partitionId },
      );
    }
    // Every event is processed and checkpointed before one consumer leaves.
    const checkpointed = async () => {
      const checkpoints = await new BlobCheckpointStore(container).listCheckpoints(
        // The SDK names checkpoints by host without the port.
        "127.0.0.1",
        hub,
        "device-ingest",
      );
      return checkpoints.length === 4 && checkpoints.every((c) => c.sequenceNumber === perPartition - 1);
    };
    await waitFor(checkpointed, { timeoutMs: 60_000, description: "all 4 partitions checkpointed" });
    assert.equal(a.received.length + b.received.length, 4 * perPartition);

    const leaving = Date.now();
    await b.subscription.close();
    await b.client.close();
    await waitFor(() => a.owned.size === 4, {
      // One load-balancing interval, plus generous slack for a loaded machine.
      timeoutMs: LOAD_BALANCING.updateIntervalInMs + 15_000,
      description: "the remaining consumer to own all 4 partitions",
    });
    t.diagnostic(
      `takeover after ${Date.now() - leaving} ms (interval ${LOAD_BALANCING.updateIntervalInMs} ms)`,
    );

    for (const partitionId of ["0", "1", "2", "3"]) {
      await producer.sendBatch(
        Array.from({ length: perPartition }, (_, i) => ({ body: { partitionId, i: perPartition + i } })),
        { partitionId },
      );
    }
    await waitFor(() => a.received.length + b.received.length >= 8 * perPartition, {
      timeoutMs: 60_000,
      description: "every event of both rounds",
    });
    for (const partitionId of ["0", "1", "2", "3"]) {
      const sequenceNumbers = [...a.received, ...b.received]
        .filter((r) => r.partitionId === partitionId)
        .map((r) => r.event.sequenceNumber)
        .sort((x, y) => x - y);
      assert.deepEqual(
        sequenceNumbers,
        Array.from({ length: 2 * perPartition }, (_, i) => i),
        `partition ${partitionId}: each event exactly once`,
      );
    }
    // Partitions moving between consumers show up as ReceiverDisconnectedError; nothing else may fail.
    for (const error of [...a.errors, ...b.errors]) {
      assert.equal(errorCode(error), "ReceiverDisconnectedError", String(error));
    }
  });
});
