// Test fixture: emulators on port 0 and real SDK clients, all closed after each test.
import { randomUUID } from "node:crypto";
import type {
  CloseReason,
  EventHubConsumerClient,
  EventPosition,
  PartitionContext,
  ReceivedEventData,
  SubscribeOptions,
} from "@azure/event-hubs";
import { startEventHubsEmulator } from "./index.ts";
import type { EventHubsEmulator, EventHubsEmulatorOptions } from "./index.ts";

export interface ClosableResource {
  close(): Promise<unknown>;
}

/** Closes everything registered, newest first; call it from `afterEach`. */
export class Resources {
  private readonly items: ClosableResource[] = [];

  add<T extends ClosableResource>(item: T): T {
    this.items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    while (this.items.length) {
      const item = this.items.pop()!;
      await item.close().catch(() => undefined);
    }
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function startTestEmulator(
  resources: Resources,
  options: Partial<EventHubsEmulatorOptions> = {},
): Promise<{ emulator: EventHubsEmulator; hub: string }> {
  const hub = uniqueName("hub");
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: hub, partitions: 4, consumerGroups: ["device-ingest"] }],
    ...options,
  });
  resources.add(emulator);
  return { emulator, hub: options.hubs?.[0]?.name ?? hub };
}

export interface Collected {
  events: (ReceivedEventData & { partitionId: string })[];
  errors: Error[];
  closeReasons: CloseReason[];
  contexts: PartitionContext[];
  close(): Promise<void>;
}

/**
 * Subscribes to one partition (or all) and records what arrives. `maxBatchSize` is set because the
 * SDK's default of 1 event per batch is very slow.
 */
export function collect(
  consumer: EventHubConsumerClient,
  partitionId: string | undefined,
  options: SubscribeOptions & { startPosition?: EventPosition } = {},
): Collected {
  const collected: Collected = {
    events: [],
    errors: [],
    closeReasons: [],
    contexts: [],
    close: () => subscription.close(),
  };
  const handlers = {
    processEvents: async (events: ReceivedEventData[], context: PartitionContext) => {
      for (const event of events) collected.events.push({ ...event, partitionId: context.partitionId });
      collected.contexts.push(context);
      await Promise.resolve();
    },
    processError: async (error: Error) => {
      collected.errors.push(error);
      await Promise.resolve();
    },
    processClose: async (reason: CloseReason) => {
      collected.closeReasons.push(reason);
      await Promise.resolve();
    },
  };
  const subscribeOptions = { maxBatchSize: 500, maxWaitTimeInSeconds: 1, ...options };
  const subscription =
    partitionId === undefined
      ? consumer.subscribe(handlers, subscribeOptions)
      : consumer.subscribe(partitionId, handlers, subscribeOptions);
  return collected;
}

/** The `code` of an SDK error (MessagingError), if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code;
  }
  return undefined;
}
