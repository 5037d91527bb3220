// Conformance: AMQP clients nobody here wrote (the Python SDK, the Go SDK, Qpid Proton), unpatched, against the
// emulator: every AMQP type in singles and batches, properties, refusals with the service's errors, and a consumer
// group shared with the JavaScript SDK through one blob checkpoint store.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import type { PartitionContext, Subscription } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";
import { getStack } from "../../../test/support/stack.ts";
import { waitFor } from "../../../test/support/wait.ts";
import { AMQP_PORT, freeLoopbackHost, startEventHubsEmulator } from "../index.ts";
import type { EventHubsEmulator } from "../index.ts";
import { Resources, uniqueName } from "../sdk-fixture.ts";
import { failedChecks, ForeignConsumer, goSdk, proton, pythonSdk } from "./clients.ts";
import type { Client } from "./clients.ts";

const resources = new Resources();
after(() => resources.closeAll());

const KEY = randomBytes(32).toString("base64");
const HUBS = {
  python: "conformance-python",
  go: "conformance-go",
  proton: "conformance-proton",
  shared: "shared",
};
const CONSUMER_GROUP = "device-ingest";

let emulator: EventHubsEmulator;
let host: string;
let storageConnectionString: string;
// Installing starts at once and runs beside the emulator's start; each describe awaits its own client.
const clients = { python: pythonSdk(), go: goSdk(), proton: proton() };
for (const client of Object.values(clients)) client.catch(() => undefined);

before(async () => {
  // Port 5672 on a loopback address of its own: the endpoint names no port, as a real namespace's.
  host = await freeLoopbackHost();
  emulator = resources.add(
    await startEventHubsEmulator({
      host,
      port: AMQP_PORT,
      verifySasKey: KEY,
      hubs: Object.values(HUBS).map((name) => ({ name, partitions: 4, consumerGroups: [CONSUMER_GROUP] })),
    }),
  );
  const { env } = await getStack();
  assert.ok(env.STORAGE_CONNECTION_STRING, "the test stack has no STORAGE_CONNECTION_STRING (azurite)");
  storageConnectionString = env.STORAGE_CONNECTION_STRING;
});

const wrongKey = (connectionString: string) =>
  connectionString.replace(/SharedAccessKey=[^;]+/, "SharedAccessKey=bm90LXRoZS1rZXk=");

async function expectAllPass(client: Client, subcommand: string[]): Promise<number> {
  const { failed, passed } = await failedChecks(client, subcommand);
  assert.deepEqual(failed, {}, `${client.name} ${subcommand[0]}: checks that failed`);
  return passed;
}

for (const [label, sdk, hub] of [
  ["Python SDK (azure-eventhub 5.15.1)", clients.python, HUBS.python],
  ["Go SDK (azeventhubs v2.0.2)", clients.go, HUBS.go],
] as const) {
  void describe(label, () => {
    const args = () => {
      const connectionString = emulator.connectionString(hub);
      return [
        "--connection-string",
        connectionString,
        "--hub",
        hub,
        "--wrong-key-connection-string",
        wrongKey(connectionString),
      ];
    };
    void test("singles and batches keep every AMQP type, body and annotation", async (t) => {
      t.diagnostic(`${await expectAllPass(await sdk, ["roundtrip", ...args(), "--partition", "0"])} checks`);
    });
    void test("hub and partition properties", async (t) => {
      t.diagnostic(`${await expectAllPass(await sdk, ["properties", ...args()])} checks`);
    });
    void test("refusals: wrong key, oversize, lower owner level, with the service's errors", async (t) => {
      t.diagnostic(`${await expectAllPass(await sdk, ["refusals", ...args()])} checks`);
    });
  });
}

void describe("Qpid Proton (plain AMQP 1.0)", () => {
  void test("CBS and $management as the Python SDK and Proton use them, every AMQP type, refusals", async (t) => {
    const passed = await expectAllPass(await clients.proton, [
      "--endpoint",
      `sb://${host}`,
      "--hub",
      HUBS.proton,
      "--key",
      KEY,
    ]);
    t.diagnostic(`${passed} checks`);
  });
});

void describe("one consumer group across languages", () => {
  void test("JavaScript, Python and Go consumers share partitions and checkpoints under one namespace", async (t) => {
    const connectionString = emulator.connectionString(HUBS.shared);
    assert.match(connectionString, /^Endpoint=sb:\/\/[\d.]+;/, "the endpoint names no port");
    const container = new ContainerClient(storageConnectionString, uniqueName("conformance"));
    await container.create();
    resources.add({ close: () => container.delete() });
    const foreignArgs = [
      "balance",
      "--connection-string",
      connectionString,
      "--storage-connection-string",
      storageConnectionString,
      "--container",
      container.containerName,
      "--consumer-group",
      CONSUMER_GROUP,
    ];
    const python = new ForeignConsumer(await clients.python, foreignArgs);
    resources.add(python);
    const go = new ForeignConsumer(await clients.go, foreignArgs);
    resources.add(go);

    const js = resources.add(
      new EventHubConsumerClient(CONSUMER_GROUP, connectionString, new BlobCheckpointStore(container), {
        loadBalancingOptions: {
          strategy: "greedy",
          updateIntervalInMs: 1000,
          partitionOwnershipExpirationIntervalInMs: 6000,
        },
      }),
    );
    const jsOwned = new Set<string>();
    const jsReceived: { body: string; partition: string; sequence: number }[] = [];
    const subscription: Subscription = js.subscribe(
      {
        processInitialize: async (context: PartitionContext) => {
          jsOwned.add(context.partitionId);
          await Promise.resolve();
        },
        processClose: async (_reason, context: PartitionContext) => {
          jsOwned.delete(context.partitionId);
          await Promise.resolve();
        },
        processEvents: async (events, context) => {
          for (const event of events) {
            jsReceived.push({
              body: String(event.body),
              partition: context.partitionId,
              sequence: event.sequenceNumber,
            });
          }
          if (events.length > 0) await context.updateCheckpoint(events.at(-1)!);
        },
        processError: async () => Promise.resolve(),
      },
      { startPosition: earliestEventPosition, maxBatchSize: 100, maxWaitTimeInSeconds: 1 },
    );
    resources.add(subscription);

    const owners = [
      { name: "JavaScript", owned: jsOwned },
      { name: "Python", owned: python.owned },
      { name: "Go", owned: go.owned },
    ];
    const describeOwners = () =>
      owners.map((o) => `${o.name} ${[...o.owned].sort().join(",") || "-"}`).join("; ");
    // Four partitions, three consumers: each must own at least one, none twice, all four covered.
    const settled = () =>
      owners.every((o) => o.owned.size >= 1) &&
      owners.reduce((sum, o) => sum + o.owned.size, 0) === 4 &&
      new Set(owners.flatMap((o) => [...o.owned])).size === 4;
    await waitFor(settled, {
      timeoutMs: 120_000,
      intervalMs: 200,
      description: `ownership to settle across the three languages (last: ${describeOwners()})`,
    });
    t.diagnostic(`settled: ${describeOwners()}`);

    const producer = resources.add(new EventHubProducerClient(connectionString));
    const bodies = Array.from({ length: 80 }, (_, i) => `event-${i}`);
    for (let i = 0; i < bodies.length; i += 20) {
      await producer.sendBatch(bodies.slice(i, i + 20).map((body) => ({ body })));
    }
    const all = () => [...jsReceived, ...python.received, ...go.received];
    await waitFor(() => new Set(all().map((r) => r.body)).size === bodies.length, {
      timeoutMs: 90_000,
      description: `all ${bodies.length} events processed by one of the three`,
    });
    t.diagnostic(
      `processed: JavaScript ${jsReceived.length}, Python ${python.received.length}, Go ${go.received.length}`,
    );

    // One namespace identity: every ownership and checkpoint blob under the same prefix, one owner per partition.
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    const prefixes = new Set(names.map((name) => name.split("/").slice(0, 3).join("/").toLowerCase()));
    assert.deepEqual(
      [...prefixes],
      [`${host}/${HUBS.shared}/${CONSUMER_GROUP}`],
      `blob names: ${names.join(", ")}`,
    );
    assert.equal(names.filter((name) => name.includes("/ownership/")).length, 4, names.join(", "));
    for (const consumer of [python, go]) {
      assert.deepEqual(
        consumer.errors.filter((e) => !/stolen|OwnershipLost|owner level/i.test(e)),
        [],
        consumer.log,
      );
    }
  });
});
