// Contract tests: owner levels (epochs) and the five-receiver quota, as the SDK experiences them.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { waitFor } from "../../test/support/wait.ts";
import { collect, errorCode, Resources, startTestEmulator } from "./sdk-fixture.ts";
import type { Collected } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

async function setup() {
  const { emulator, hub } = await startTestEmulator(resources);
  const connectionString = emulator.connectionString(hub);
  const producer = resources.add(new EventHubProducerClient(connectionString));
  await producer.sendBatch([{ body: "first" }], { partitionId: "0" });
  /** A subscriber on partition 0 with its own client (one client allows one subscriber per partition). */
  const subscribe = (ownerLevel: number | undefined): Collected => {
    const client = resources.add(
      new EventHubConsumerClient("$Default", connectionString, { retryOptions: { maxRetries: 0 } }),
    );
    return resources.add(
      collect(client, "0", {
        startPosition: earliestEventPosition,
        ...(ownerLevel === undefined ? {} : { ownerLevel }),
      }),
    );
  };
  return { producer, subscribe };
}

const attached = (subscriber: Collected) => () => subscriber.events.length > 0;
const failedWith = (subscriber: Collected, code: string) => () =>
  subscriber.errors.some((error) => errorCode(error) === code);

void describe("owner levels", () => {
  void test("a higher owner level takes the partition; the old receiver sees ReceiverDisconnectedError and OwnershipLost", async () => {
    const { subscribe } = await setup();
    const low = subscribe(1);
    await waitFor(attached(low), { description: "level 1 receiving" });
    const high = subscribe(2);
    await waitFor(attached(high), { description: "level 2 receiving" });
    await waitFor(failedWith(low, "ReceiverDisconnectedError"), { description: "level 1 disconnected" });
    await waitFor(() => low.closeReasons.includes("OwnershipLost" as never), {
      description: "OwnershipLost",
    });
  });

  void test("an equal owner level takes over (checkpoint-store consumers all use level 0)", async () => {
    const { subscribe } = await setup();
    // The SDK drops an explicit owner level 0 unless a checkpoint store is used: 3 stands in for it.
    const first = subscribe(3);
    await waitFor(attached(first), { description: "first receiving" });
    const second = subscribe(3);
    await waitFor(attached(second), { description: "second receiving" });
    await waitFor(failedWith(first, "ReceiverDisconnectedError"), { description: "first disconnected" });
  });

  void test("a lower owner level, or none, is refused while a higher one reads", async () => {
    const { subscribe } = await setup();
    const high = subscribe(5);
    await waitFor(attached(high), { description: "level 5 receiving" });
    const lower = subscribe(4);
    await waitFor(failedWith(lower, "ReceiverDisconnectedError"), { description: "level 4 refused" });
    const none = subscribe(undefined);
    await waitFor(failedWith(none, "ReceiverDisconnectedError"), { description: "no level refused" });
    assert.equal(lower.events.length, 0);
    assert.equal(none.events.length, 0);
    assert.equal(high.errors.length, 0, "the owner keeps reading");
  });
});

void describe("receivers without an owner level", () => {
  void test("five may read a partition; the sixth gets QuotaExceededError", async () => {
    const { subscribe } = await setup();
    const five = Array.from({ length: 5 }, () => subscribe(undefined));
    for (const [i, subscriber] of five.entries()) {
      await waitFor(attached(subscriber), { description: `receiver ${i + 1} receiving` });
    }
    const sixth = subscribe(undefined);
    await waitFor(failedWith(sixth, "QuotaExceededError"), { description: "the sixth refused" });
    assert.equal(sixth.events.length, 0);
    for (const subscriber of five) assert.equal(subscriber.errors.length, 0);
  });

  void test("a receiver with an owner level takes the partition from those without one", async () => {
    const { subscribe } = await setup();
    const plain = subscribe(undefined);
    await waitFor(attached(plain), { description: "plain receiving" });
    const owner = subscribe(1);
    await waitFor(attached(owner), { description: "owner receiving" });
    await waitFor(failedWith(plain, "ReceiverDisconnectedError"), { description: "plain disconnected" });
  });
});
