// The checkpoint rules of the component, driven through the SDK's handler interface with fakes (no servers).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type {
  EventHubConsumerClient,
  PartitionContext,
  ReceivedEventData,
  SubscriptionEventHandlers,
} from "@azure/event-hubs";
import { pino } from "pino";
import { Registry } from "prom-client";
import { DeviceIngest } from "./device-ingest.ts";
import { resolveDeviceIngestOptions } from "./device-ingest-options.ts";
import { createIngestMetrics } from "./ingest-metrics.ts";
import { pause } from "./retry-backoff.ts";

function harness(options: {
  checkpointEveryEvents?: number;
  write?: (signal: AbortSignal) => Promise<void>;
}) {
  let handlers: SubscriptionEventHandlers | undefined;
  const contexts: PartitionContext[] = [];
  const checkpoints: number[] = [];
  const consumer = {
    subscribe: (h: SubscriptionEventHandlers) => {
      handlers = h;
      return {
        isRunning: true,
        close: async () => {
          for (const c of contexts) await h.processClose!("Shutdown" as never, c);
        },
      };
    },
    close: () => Promise.resolve(),
  } as unknown as EventHubConsumerClient;
  const ingest = new DeviceIngest({
    consumer,
    store: {
      writeTelemetry: async (_docs, signal) => {
        await options.write?.(signal);
        return [];
      },
      updateDeviceStates: () => Promise.resolve(),
    },
    deadLetters: { send: () => Promise.resolve() },
    // The recorded owner is always us here; partition-ownership.test.ts covers the records against Azurite.
    ownership: {
      assertOwner: () => Promise.resolve(),
      checkpoint: async (context, event) => {
        await context.updateCheckpoint(event);
        return "written";
      },
    },
    metrics: createIngestMetrics(new Registry()),
    logger: pino({ level: "silent" }),
    options: resolveDeviceIngestOptions({
      consumerGroup: "g",
      checkpointEveryEvents: options.checkpointEveryEvents ?? 1,
      checkpointIntervalMs: 60_000,
      drainTimeoutMs: 50,
    }),
  });
  ingest.start();
  const context = {
    partitionId: "0",
    updateCheckpoint: (event: ReceivedEventData) => {
      checkpoints.push(event.sequenceNumber);
      return Promise.resolve();
    },
  } as unknown as PartitionContext;
  contexts.push(context);
  const events = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      body: Buffer.from(
        JSON.stringify({
          deviceId: "d",
          eventId: `e${from + i}`,
          type: "status",
          ts: "2026-01-01T00:00:00Z",
          payload: {},
        }),
      ),
      sequenceNumber: from + i,
      offset: String((from + i) * 10),
      enqueuedTimeUtc: new Date(0),
    })) as unknown as ReceivedEventData[];
  return { ingest, handlers: () => handlers!, context, checkpoints, events };
}

describe("DeviceIngest checkpoints", () => {
  test("a batch is checkpointed at its last event once it is durable", async () => {
    const h = harness({});
    await h.handlers().processInitialize!(h.context);
    await h.handlers().processEvents(h.events(0, 3), h.context);
    assert.deepEqual(h.checkpoints, [2]);
  });

  test("with checkpointEveryEvents, durable batches are checkpointed together, and flushed on shutdown", async () => {
    const h = harness({ checkpointEveryEvents: 10 });
    await h.handlers().processInitialize!(h.context);
    await h.handlers().processEvents(h.events(0, 4), h.context);
    await h.handlers().processEvents(h.events(4, 4), h.context);
    assert.deepEqual(h.checkpoints, []);
    await h.handlers().processEvents(h.events(8, 4), h.context);
    assert.deepEqual(h.checkpoints, [11]);
    await h.handlers().processEvents(h.events(12, 2), h.context);
    await h.ingest.stop();
    assert.deepEqual(h.checkpoints, [11, 13], "shutdown checkpoints what is durable");
  });

  test("a batch that cannot be written is never checkpointed; shutdown gives it up after the drain budget", async () => {
    const h = harness({
      write: async (signal) => {
        for (;;) await pause(5, signal); // Cosmos down: retry until abandoned
      },
    });
    await h.handlers().processInitialize!(h.context);
    const processing = h.handlers().processEvents(h.events(0, 3), h.context);
    const rejected = assert.rejects(processing, { name: "RetryAbandonedError" });
    await h.ingest.stop();
    await rejected;
    assert.deepEqual(h.checkpoints, []);
  });

  test("after losing ownership the partition is never checkpointed, even for durable events", async () => {
    const h = harness({ checkpointEveryEvents: 100 });
    await h.handlers().processInitialize!(h.context);
    await h.handlers().processEvents(h.events(0, 3), h.context);
    await h.handlers().processClose!("OwnershipLost" as never, h.context);
    assert.deepEqual(h.checkpoints, []);
  });
});
