// Contract tests: the real @azure/event-hubs SDK sends, reads and inspects hubs on the emulator.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  latestEventPosition,
} from "@azure/event-hubs";
import type { EventPosition } from "@azure/event-hubs";
import { waitFor } from "../../test/support/wait.ts";
import { partitionForKey } from "./partition-key.ts";
import { collect, errorCode, Resources, startTestEmulator } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

void describe("producer and consumer", () => {
  void test("a keyed batch lands on the key's partition and arrives with the service's annotations", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    const batch = await producer.createBatch({ partitionKey: "device-42" });
    for (let i = 0; i < 5; i++) {
      assert.ok(batch.tryAdd({ body: { i }, properties: { index: i }, contentType: "application/json" }));
    }
    await producer.sendBatch(batch);

    const expected = String(partitionForKey("device-42", 4));
    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const got = resources.add(collect(consumer, undefined, { startPosition: earliestEventPosition }));
    await waitFor(() => got.events.length >= 5, { description: "5 events" });

    assert.deepEqual(
      got.events.map((e) => e.body as unknown),
      [0, 1, 2, 3, 4].map((i) => ({ i })),
    );
    for (const [i, event] of got.events.entries()) {
      assert.equal(event.partitionId, expected);
      assert.equal(event.partitionKey, "device-42");
      assert.equal(event.sequenceNumber, i);
      assert.equal(typeof event.offset, "string");
      assert.ok(event.enqueuedTimeUtc instanceof Date && event.enqueuedTimeUtc.getTime() > 0);
      assert.deepEqual(event.properties, { index: i });
      assert.equal(event.contentType, "application/json");
    }
    const offsets = got.events.map((e) => Number(e.offset));
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => a - b),
    );
    assert.equal(offsets[0], 0);
  });

  void test("the same partition key always maps to the same partition, as the SDK's own mapper does", async () => {
    // The buffered producer maps keys client-side with the SDK's internal mapper; ours must agree.
    const sdkMapper =
      (await import("../../node_modules/@azure/event-hubs/dist/esm/impl/partitionKeyToIdMapper.js")) as {
        mapPartitionKeyToId(key: string, count: number): number;
      };
    for (let i = 0; i < 2000; i++) {
      const key = `device-${i}${"x".repeat(i % 29)}${i % 5 === 0 ? "-é✓" : ""}`;
      for (const count of [1, 2, 4, 7, 32]) {
        assert.equal(
          partitionForKey(key, count),
          sdkMapper.mapPartitionKeyToId(key, count),
          `${key} / ${count}`,
        );
      }
    }
  });

  void test("batches without key or partition go round robin, one partition per batch", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    for (let b = 0; b < 4; b++) await producer.sendBatch([{ body: `a${b}` }, { body: `b${b}` }]);
    for (const id of ["0", "1", "2", "3"]) {
      const properties = await producer.getPartitionProperties(id);
      assert.equal(properties.lastEnqueuedSequenceNumber, 1, `partition ${id} has one batch of 2`);
    }
  });

  void test("a single event sent to a partition is received; hub and partition properties follow the sends", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    const hubProperties = await producer.getEventHubProperties();
    assert.equal(hubProperties.name, hub);
    assert.deepEqual(hubProperties.partitionIds, ["0", "1", "2", "3"]);
    assert.ok(hubProperties.createdOn instanceof Date);

    const empty = await producer.getPartitionProperties("2");
    assert.equal(empty.isEmpty, true);
    assert.equal(empty.lastEnqueuedSequenceNumber, -1);
    assert.equal(empty.beginningSequenceNumber, 0);
    assert.equal(empty.lastEnqueuedOffset, "-1");

    const before = Date.now();
    await producer.sendBatch([{ body: "one" }], { partitionId: "2" });
    await producer.sendBatch([{ body: "two" }, { body: "three" }], { partitionId: "2" });
    const after = await producer.getPartitionProperties("2");
    assert.equal(after.partitionId, "2");
    assert.equal(after.eventHubName, hub);
    assert.equal(after.isEmpty, false);
    assert.equal(after.beginningSequenceNumber, 0);
    assert.equal(after.lastEnqueuedSequenceNumber, 2);
    assert.ok(after.lastEnqueuedOnUtc.getTime() >= before - 1000);

    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const got = resources.add(collect(consumer, "2", { startPosition: earliestEventPosition }));
    await waitFor(() => got.events.length >= 3, { description: "3 events" });
    assert.deepEqual(
      got.events.map((e) => e.body as unknown),
      ["one", "two", "three"],
    );
    assert.equal(got.events[2]!.offset, after.lastEnqueuedOffset);
  });

  void test("a configured consumer group reads independently of $Default", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    await producer.sendBatch([{ body: 1 }], { partitionId: "0" });
    const a = resources.add(new EventHubConsumerClient("device-ingest", emulator.connectionString(hub)));
    const b = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const gotA = resources.add(collect(a, "0", { startPosition: earliestEventPosition }));
    const gotB = resources.add(collect(b, "0", { startPosition: earliestEventPosition }));
    await waitFor(() => gotA.events.length === 1 && gotB.events.length === 1, { description: "both groups" });
  });

  void test("receiver runtime metrics report the partition's last enqueued event", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    await producer.sendBatch(
      Array.from({ length: 3 }, (_, i) => ({ body: i })),
      { partitionId: "1" },
    );
    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const got = resources.add(
      collect(consumer, "1", {
        startPosition: earliestEventPosition,
        trackLastEnqueuedEventProperties: true,
      }),
    );
    await waitFor(() => got.events.length >= 3, { description: "3 events" });
    const last = got.contexts.at(-1)?.lastEnqueuedEventProperties;
    assert.ok(last);
    assert.equal(last.sequenceNumber, 2);
    assert.equal(last.offset, got.events[2]!.offset);
    assert.ok(last.enqueuedOn instanceof Date && last.enqueuedOn.getTime() > 0);
    assert.ok(last.retrievedOn instanceof Date && last.retrievedOn.getTime() > 0);
  });
});

void describe("unknown entities", () => {
  void test("an unknown hub gives MessagingEntityNotFoundError", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const connectionString = emulator.connectionString(hub).replace(`EntityPath=${hub}`, "EntityPath=nope");
    const producer = resources.add(
      new EventHubProducerClient(connectionString, { retryOptions: { maxRetries: 0 } }),
    );
    await assert.rejects(producer.getEventHubProperties(), (error) => {
      assert.equal(errorCode(error), "MessagingEntityNotFoundError");
      return true;
    });
    await assert.rejects(producer.sendBatch([{ body: 1 }]), (error) => {
      assert.equal(errorCode(error), "MessagingEntityNotFoundError");
      return true;
    });
  });

  void test("an unknown consumer group gives MessagingEntityNotFoundError", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const consumer = resources.add(
      new EventHubConsumerClient("no-such-group", emulator.connectionString(hub), {
        retryOptions: { maxRetries: 0 },
      }),
    );
    const got = resources.add(collect(consumer, "0", { startPosition: earliestEventPosition }));
    const error = await waitFor(() => got.errors[0], { description: "an error" });
    assert.equal(errorCode(error), "MessagingEntityNotFoundError");
  });
});

void describe("start positions", () => {
  /** Sends `count` single-event batches to partition 0; returns their properties in order. */
  async function seed(emulator: { connectionString(hub: string): string }, hub: string) {
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    for (let i = 0; i < 3; i++) await producer.sendBatch([{ body: i }], { partitionId: "0" });
    // A second group, enqueued strictly later, so that an enqueued-time position separates them.
    const firstGroupTime = (await producer.getPartitionProperties("0")).lastEnqueuedOnUtc.getTime();
    await waitFor(() => Date.now() > firstGroupTime + 1, { description: "the clock to move" });
    for (let i = 3; i < 6; i++) await producer.sendBatch([{ body: i }], { partitionId: "0" });
    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const all = collect(consumer, "0", { startPosition: earliestEventPosition });
    await waitFor(() => all.events.length >= 6, { description: "6 seeded events" });
    await all.close();
    return { producer, events: all.events, firstGroupTime };
  }

  async function bodiesFrom(
    emulator: { connectionString(hub: string): string },
    hub: string,
    startPosition: EventPosition,
    expected: number[],
  ) {
    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const got = collect(consumer, "0", { startPosition });
    await waitFor(() => got.events.length >= expected.length, { description: `${expected.length} events` });
    // At most five receivers without an owner level may read a partition: release this one.
    await got.close();
    await consumer.close();
    assert.deepEqual(
      got.events.map((e) => e.body as number),
      expected,
      JSON.stringify(startPosition),
    );
  }

  void test("earliest, offset, sequence number and enqueued time, inclusive and exclusive", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const { events, firstGroupTime } = await seed(emulator, hub);
    await bodiesFrom(emulator, hub, earliestEventPosition, [0, 1, 2, 3, 4, 5]);
    await bodiesFrom(emulator, hub, { offset: events[2]!.offset }, [3, 4, 5]);
    await bodiesFrom(emulator, hub, { offset: events[2]!.offset, isInclusive: true }, [2, 3, 4, 5]);
    await bodiesFrom(emulator, hub, { sequenceNumber: 3 }, [4, 5]);
    await bodiesFrom(emulator, hub, { sequenceNumber: 3, isInclusive: true }, [3, 4, 5]);
    await bodiesFrom(emulator, hub, { enqueuedOn: new Date(firstGroupTime) }, [3, 4, 5]);
    await bodiesFrom(emulator, hub, { enqueuedOn: 0 }, [0, 1, 2, 3, 4, 5]);
  });

  void test("latest gets only events sent after the receiver attached", async () => {
    const { emulator, hub } = await startTestEmulator(resources);
    const { producer } = await seed(emulator, hub);
    const consumer = resources.add(new EventHubConsumerClient("$Default", emulator.connectionString(hub)));
    const got = resources.add(collect(consumer, "0", { startPosition: latestEventPosition }));
    // Keep sending until the receiver is attached and gets one; nothing before it may show up.
    let sent = 6;
    await waitFor(
      async () => {
        if (got.events.length > 0) return true;
        await producer.sendBatch([{ body: sent++ }], { partitionId: "0" });
        return false;
      },
      { intervalMs: 100, description: "an event after attaching" },
    );
    assert.ok(
      got.events.every((e) => (e.body as number) >= 6),
      `only new events, got ${JSON.stringify(got.events.map((e) => e.body as unknown))}`,
    );
    const bodies = got.events.map((e) => e.body as number);
    assert.deepEqual(
      bodies,
      Array.from({ length: bodies.length }, (_, i) => bodies[0]! + i),
    );
  });
});
