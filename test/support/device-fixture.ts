// Shared by the device-ingest system tests: an Event Hubs emulator per file, unique Azure resources, replicas, probes.
import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import type { CosmosClient } from "@azure/cosmos";
import { type Container } from "@azure/cosmos";
import { EventHubProducerClient, type Checkpoint, type PartitionOwnership } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { QueueClient } from "@azure/storage-queue";
import type { ContainerClient } from "@azure/storage-blob";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createCosmosClient, createStorageClients } from "../../shared/azure-clients.ts";
import { parseEnv, processEnv } from "../../shared/config.ts";
import type { Logger } from "../../shared/logger.ts";
import { composeDeviceIngest, type ComposedDeviceIngest } from "../../workers/device-ingest/compose.ts";
import { deviceIngestEnv } from "../../workers/device-ingest/config.ts";
import type { DeviceIngestOptionsInput } from "../../workers/device-ingest/device-ingest-options.ts";
import { buildTopology } from "../../shared/topology/topology.ts";
import { startEventHubsEmulator, type EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import {
  parseDeadLetterMessage,
  type DeadLetterMessage,
} from "../../workers/device-ingest/dead-letter-message.ts";
import { createTestEnv, ROOT } from "./stack.ts";
import { freePort } from "./ports.ts";
import { waitFor } from "./wait.ts";

export const HUB = "telemetry";
export const CONSUMER_GROUP = "device-ingest";

/** Short intervals so ownership moves and checkpoints happen within seconds in tests. */
export const FAST_WORKER_ENV: Record<string, string> = {
  DEVICE_INGEST_BATCH_SIZE: "100",
  DEVICE_INGEST_BATCH_WAIT_MS: "200",
  DEVICE_INGEST_LB_INTERVAL_MS: "500",
  DEVICE_INGEST_OWNERSHIP_EXPIRY_MS: "8000",
  DEVICE_INGEST_CHECKPOINT_EVENTS: "1000",
  DEVICE_INGEST_CHECKPOINT_INTERVAL_MS: "500",
  DEVICE_INGEST_RETRY_MAX_MS: "1000",
  SHUTDOWN_TIMEOUT_MS: "20000",
};

export async function startHub(
  partitions = 4,
): Promise<{ emulator: EventHubsEmulator; connectionString: string }> {
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: HUB, partitions, consumerGroups: [CONSUMER_GROUP] }],
  });
  return { emulator, connectionString: emulator.connectionString(HUB) };
}

/** A unique environment (blob containers, storage queue, Cosmos database) reading this file's own hub. */
export async function deviceTestEnv(connectionString: string): Promise<Record<string, string>> {
  const env = await createTestEnv({ aws: false, azure: true });
  return {
    ...env,
    EVENTHUB_CONNECTION_STRING: connectionString,
    EVENTHUB_NAME: HUB,
    EVENTHUB_CONSUMER_GROUP: CONSUMER_GROUP,
    ...FAST_WORKER_ENV,
  };
}

/** Clients on a test environment's resources, and the probes the tests assert with. */
export class DeviceTestProbe {
  readonly env: Record<string, string>;
  readonly producer: EventHubProducerClient;
  readonly cosmos: CosmosClient;
  readonly telemetry: Container;
  readonly devices: Container;
  readonly queue: QueueClient;
  readonly deadLetterBlobs: ContainerClient;
  readonly checkpointStore: BlobCheckpointStore;

  constructor(env: Record<string, string>) {
    this.env = env;
    const topology = buildTopology({ env: env.EVENTFLEET_ENV!, cosmosDatabase: env.COSMOS_DATABASE! });
    this.producer = new EventHubProducerClient(env.EVENTHUB_CONNECTION_STRING!, HUB);
    this.cosmos = createCosmosClient({ COSMOS_ENDPOINT: env.COSMOS_ENDPOINT!, COSMOS_KEY: env.COSMOS_KEY });
    const database = this.cosmos.database(topology.cosmos.database);
    this.telemetry = database.container("telemetry");
    this.devices = database.container("devices");
    const storage = createStorageClients({ STORAGE_CONNECTION_STRING: env.STORAGE_CONNECTION_STRING });
    this.queue = storage.queue.getQueueClient(topology.storageQueue);
    this.deadLetterBlobs = storage.blob.getContainerClient(topology.blobContainers.deadletter);
    this.checkpointStore = new BlobCheckpointStore(
      storage.blob.getContainerClient(topology.blobContainers.checkpoints),
    );
  }

  /** Sends bodies with their device id as partition key (raw strings are sent as they are). */
  async send(events: { partitionKey: string; body: string | object }[]): Promise<void> {
    const byKey = new Map<string, (string | object)[]>();
    for (const e of events) byKey.set(e.partitionKey, [...(byKey.get(e.partitionKey) ?? []), e.body]);
    for (const [partitionKey, bodies] of byKey) {
      let batch = await this.producer.createBatch({ partitionKey });
      for (const body of bodies) {
        const data = {
          body: typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(JSON.stringify(body)),
        };
        if (!batch.tryAdd(data)) {
          await this.producer.sendBatch(batch);
          batch = await this.producer.createBatch({ partitionKey });
          if (!batch.tryAdd(data)) throw new Error("event too large for an empty batch");
        }
      }
      if (batch.count > 0) await this.producer.sendBatch(batch);
    }
  }

  async telemetryIds(): Promise<string[]> {
    const { resources } = await this.telemetry.items.query<{ id: string }>("SELECT c.id FROM c").fetchAll();
    return resources.map((r) => r.id).sort();
  }

  async lastSequenceNumbers(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const id of await this.producer.getPartitionIds()) {
      const last = (await this.producer.getPartitionProperties(id)).lastEnqueuedSequenceNumber;
      if (last >= 0) out[id] = last;
    }
    return out;
  }

  /** Waits until every non-empty partition's checkpoint is at its last event (batches are checkpointed when done). */
  async waitCheckpointsAtEnd(timeoutMs = 60_000): Promise<void> {
    const last = await this.lastSequenceNumbers();
    await waitFor(
      async () => {
        const checkpointed = await this.checkpointedSequences();
        return Object.entries(last).every(([p, n]) => checkpointed[p] === n);
      },
      { timeoutMs, intervalMs: 250, description: `checkpoints at ${JSON.stringify(last)}` },
    );
  }

  async checkpoints(): Promise<Checkpoint[]> {
    return this.checkpointStore.listCheckpoints(this.producer.fullyQualifiedNamespace, HUB, CONSUMER_GROUP);
  }

  /** Partition → checkpointed sequence number. */
  async checkpointedSequences(): Promise<Record<string, number>> {
    return Object.fromEntries((await this.checkpoints()).map((c) => [c.partitionId, c.sequenceNumber]));
  }

  async ownerships(): Promise<PartitionOwnership[]> {
    return this.checkpointStore.listOwnership(this.producer.fullyQualifiedNamespace, HUB, CONSUMER_GROUP);
  }

  /** The dead letters at the front of the queue (at most 32), parsed; left visible. */
  async peekDeadLetters(): Promise<DeadLetterMessage[]> {
    const { peekedMessageItems } = await this.queue.peekMessages({ numberOfMessages: 32 });
    return peekedMessageItems.map((m) => parseDeadLetterMessage(m.messageText));
  }

  async queueDepth(): Promise<number> {
    return (await this.queue.getProperties()).approximateMessagesCount ?? 0;
  }

  async close(): Promise<void> {
    await this.producer.close();
    this.cosmos.dispose();
  }
}

/** A device-ingest replica as its own process, like a pod: `node bin/eventfleet.js worker device-ingest`. */
export class Replica {
  readonly child: ChildProcess;
  readonly managementUrl: string;
  readonly exited: Promise<number | null>;
  readonly output: string[] = [];

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.managementUrl = `http://127.0.0.1:${port}`;
    const collect = (chunk: Buffer) => {
      this.output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (this.output.length > 500) this.output.splice(0, this.output.length - 500);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : null))),
    );
  }

  static async start(env: Record<string, string>): Promise<Replica> {
    const port = await freePort();
    const child = spawn(process.execPath, [join(ROOT, "bin/eventfleet.js"), "worker", "device-ingest"], {
      env: { ...process.env, ...env, MANAGEMENT_PORT: String(port), LOG_LEVEL: env.LOG_LEVEL ?? "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new Replica(child, port);
  }

  /** The owner id it writes into ownership records (see compose.ts). */
  get ownerId(): string {
    return `${hostname()}-${this.child.pid}`;
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        if (this.child.exitCode !== null)
          throw new Error(`replica exited: ${this.output.slice(-5).join("\n")}`);
        return (await fetch(`${this.managementUrl}/readyz`)).status === 200;
      },
      { timeoutMs, intervalMs: 200, description: `replica ${this.child.pid} ready` },
    );
  }

  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.managementUrl}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(" ").pop());
    }
    return sum;
  }

  async terminate(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  describe(): string {
    return this.output.slice(-20).join("\n");
  }
}

/** Valid device events: `count` events spread over `devices` devices, each with an eventId. */
export function validEvents(prefix: string, count: number, devices: number) {
  return Array.from({ length: count }, (_, i) => {
    const deviceId = `${prefix}-dev-${i % devices}`;
    return {
      partitionKey: deviceId,
      body: {
        deviceId,
        eventId: `${prefix}-${i}`,
        type: "telemetry",
        ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        payload: { temperature: 20 + (i % 7), i },
      },
      id: `${deviceId}:${prefix}-${i}`,
    };
  });
}

/** The worker in this process (lighter than a replica process where process boundaries do not matter). */
export function startInProcessWorker(
  env: Record<string, string>,
  overrides: Partial<DeviceIngestOptionsInput> = {},
  logger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
): { worker: ComposedDeviceIngest; registry: Registry } {
  const config = parseEnv({ ...processEnv, ...deviceIngestEnv }, env);
  const registry = new Registry();
  const worker = composeDeviceIngest(config, {
    logger,
    registry,
    overrides: { drainTimeoutMs: 2000, ...overrides },
  });
  worker.start();
  return { worker, registry };
}
