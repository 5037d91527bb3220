// Contract tests: message size limit and SAS verification, as the SDK experiences them.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { waitFor } from "../../test/support/wait.ts";
import { MAX_MESSAGE_SIZE } from "./options.ts";
import { collect, errorCode, Resources, startTestEmulator } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

void describe("message size", () => {
  void test("the sender link advertises 1 MiB, so the SDK sizes its batches to it", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    const batch = await producer.createBatch();
    assert.equal(batch.maxSizeInBytes, MAX_MESSAGE_SIZE);
    assert.equal(batch.tryAdd({ body: Buffer.alloc(MAX_MESSAGE_SIZE + 1) }), false);
  });

  void test("an oversized send is rejected with MessageTooLargeError and nothing is stored", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(
      new EventHubProducerClient(emulator.connectionString(hub), { retryOptions: { maxRetries: 0 } }),
    );
    // An array bypasses the SDK's own batch sizing, so the emulator has to enforce the limit.
    await assert.rejects(
      producer.sendBatch([{ body: Buffer.alloc(MAX_MESSAGE_SIZE + 1024) }], { partitionId: "0" }),
      (error) => {
        assert.equal(errorCode(error), "MessageTooLargeError");
        return true;
      },
    );
    assert.equal((await producer.getPartitionProperties("0")).isEmpty, true);
    // The link stays usable for sends within the limit.
    await producer.sendBatch([{ body: Buffer.alloc(MAX_MESSAGE_SIZE - 1024) }], { partitionId: "0" });
    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const got = resources.add(collect(consumer, "0", { startPosition: earliestEventPosition }));
    await waitFor(() => got.events.length === 1, { description: "the large event" });
    assert.equal((got.events[0]!.body as Buffer).length, MAX_MESSAGE_SIZE - 1024);
  });
});

void describe("SAS verification", () => {
  void test("with the right key, sends and reads work", async () => {
    const { emulator, hub } = await startTestEmulator(resources, { verifySasKey: "s3cret-key" });
    const connectionString = emulator.connectionString(hub);
    assert.match(connectionString, /SharedAccessKey=s3cret-key;/);
    const producer = resources.add(new EventHubProducerClient(connectionString));
    await producer.sendBatch([{ body: "signed" }], { partitionId: "1" });
    assert.equal((await producer.getPartitionProperties("1")).lastEnqueuedSequenceNumber, 0);
    const consumer = resources.add(new EventHubConsumerClient("$Default", connectionString));
    const got = resources.add(collect(consumer, "1", { startPosition: earliestEventPosition }));
    await waitFor(() => got.events.length === 1, { description: "the signed event" });
  });

  void test("a wrong key fails with UnauthorizedError", async () => {
    const { emulator, hub } = await startTestEmulator(resources, { verifySasKey: "s3cret-key" });
    const wrong = emulator
      .connectionString(hub)
      .replace("SharedAccessKey=s3cret-key", "SharedAccessKey=guess");
    const producer = resources.add(new EventHubProducerClient(wrong, { retryOptions: { maxRetries: 0 } }));
    await assert.rejects(producer.getEventHubProperties(), (error) => {
      assert.equal(errorCode(error), "UnauthorizedError");
      return true;
    });
    await assert.rejects(producer.sendBatch([{ body: "x" }], { partitionId: "0" }), (error) => {
      assert.equal(errorCode(error), "UnauthorizedError");
      return true;
    });
    const consumer = resources.add(
      new EventHubConsumerClient("$Default", wrong, { retryOptions: { maxRetries: 0 } }),
    );
    const got = resources.add(collect(consumer, "0", { startPosition: earliestEventPosition }));
    const error = await waitFor(() => got.errors[0], { description: "the consumer's error" });
    assert.equal(errorCode(error), "UnauthorizedError");
  });

  void test("an expired token fails with UnauthorizedError", async () => {
    const { emulator, hub } = await startTestEmulator(resources, { verifySasKey: "s3cret-key" });
    const { createHmac } = await import("node:crypto");
    const audience = `sb://127.0.0.1:${emulator.port}/${hub}`;
    const expiry = Math.floor(Date.now() / 1000) - 60;
    const signature = createHmac("sha256", "s3cret-key")
      .update(`${encodeURIComponent(audience)}\n${expiry}`)
      .digest("base64");
    const token =
      `SharedAccessSignature sr=${encodeURIComponent(audience)}&sig=${encodeURIComponent(signature)}` +
      `&se=${expiry}&skn=RootManageSharedAccessKey`;
    // A connection string may carry a ready-made token instead of a key.
    const connectionString =
      `Endpoint=sb://127.0.0.1:${emulator.port};SharedAccessSignature=${token};` +
      `EntityPath=${hub};UseDevelopmentEmulator=true`;
    const producer = resources.add(
      new EventHubProducerClient(connectionString, { retryOptions: { maxRetries: 0 } }),
    );
    await assert.rejects(producer.sendBatch([{ body: "x" }], { partitionId: "0" }), (error) => {
      assert.equal(errorCode(error), "UnauthorizedError");
      return true;
    });
  });
});
