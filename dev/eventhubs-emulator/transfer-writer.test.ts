// Non-SDK AMQP peers: a raw rhea receiver with a small max frame size gets small events (written by
// TransferWriter) and large ones (split by rhea) in order; a raw rhea sender's plain message is stored.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import rhea from "rhea";
import type { EventContext, Message } from "rhea";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { waitFor } from "../../test/support/wait.ts";
import { partitionForKey } from "./partition-key.ts";
import { collect, Resources, startTestEmulator } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

void test("small and multi-frame events arrive in order, annotated, on a link with a small max frame size", async () => {
  const { emulator, hub } = await startTestEmulator(resources);
  const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
  const bodies = ["a", "b".repeat(5000), "c", "d", "e".repeat(3000), "f"];
  await producer.sendBatch(
    bodies.map((body) => ({ body })),
    { partitionId: "0" },
  );

  const container = rhea.create_container();
  const connection = container.connect({
    host: "127.0.0.1",
    port: emulator.port,
    max_frame_size: 1024,
    reconnect: false,
  });
  resources.add({
    close: () =>
      new Promise<void>((resolve) => {
        connection.once("connection_close", () => resolve());
        connection.once("disconnected", () => resolve());
        connection.close();
      }),
  });
  const received: Message[] = [];
  connection.open_receiver({
    source: { address: `${hub}/ConsumerGroups/$Default/Partitions/0` },
    credit_window: 3,
  });
  connection.on("message", (context: EventContext) => received.push(context.message!));
  await waitFor(() => received.length >= bodies.length, { description: "all 6 events" });
  // rhea hands a data section over as a Section whose content is the bytes.
  const text = (m: Message) => (m.body as { content: Buffer }).content.toString("utf8");
  assert.deepEqual(
    received.map((m) => JSON.parse(text(m)) as unknown),
    bodies,
  );
  assert.deepEqual(
    received.map((m) => m.message_annotations?.["x-opt-sequence-number"] as unknown),
    [0, 1, 2, 3, 4, 5],
  );
});

void test("a plain AMQP message (format 0) from a non-SDK sender is routed by its key and read by the SDK", async () => {
  const { emulator, hub } = await startTestEmulator(resources);
  const connection = rhea
    .create_container()
    .connect({ host: "127.0.0.1", port: emulator.port, reconnect: false });
  resources.add({
    close: () =>
      new Promise<void>((resolve) => {
        connection.once("connection_close", () => resolve());
        connection.once("disconnected", () => resolve());
        connection.close();
      }),
  });
  const sender = connection.open_sender({ target: { address: hub } });
  let accepted = false;
  sender.on("accepted", () => (accepted = true));
  sender.once("sendable", () => {
    sender.send({
      body: "plain",
      application_properties: { from: "rhea" },
      message_annotations: { "x-opt-partition-key": "device-7" },
    });
  });
  await waitFor(() => accepted, { description: "the send accepted" });

  const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
  const got = resources.add(collect(consumer, undefined, { startPosition: earliestEventPosition }));
  await waitFor(() => got.events.length === 1, { description: "the plain message" });
  const event = got.events[0]!;
  assert.equal(event.body, "plain");
  assert.equal(event.partitionKey, "device-7");
  assert.equal(event.partitionId, String(partitionForKey("device-7", 4)));
  assert.deepEqual(event.properties, { from: "rhea" });
  assert.equal(event.sequenceNumber, 0);
});
