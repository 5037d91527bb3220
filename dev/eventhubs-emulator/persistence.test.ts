// Contract tests: with a data directory, events and sequence numbers survive a restart; retention.
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import { waitFor } from "../../test/support/wait.ts";
import { collect, Resources, startTestEmulator, uniqueName } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "eventhubs-emulator-"));
  resources.add({ close: () => rm(dir, { recursive: true, force: true }) });
  return dir;
}

async function readAll(connectionString: string, partitionId: string, count: number) {
  const consumer = resources.add(new EventHubConsumerClient("$Default", connectionString));
  const got = collect(consumer, partitionId, { startPosition: earliestEventPosition });
  await waitFor(() => got.events.length >= count, { description: `${count} events` });
  await got.close();
  await consumer.close();
  return got.events;
}

void describe("persistence", () => {
  void test("after a restart with the same data directory, events, offsets and sequence numbers are kept", async () => {
    const dataDir = await temporaryDir();
    const hubs = [{ name: uniqueName("hub"), partitions: 2 }];
    const first = await startTestEmulator(resources, { dataDir, hubs });
    const producer = resources.add(new EventHubProducerClient(first.emulator.connectionString(first.hub)));
    await producer.sendBatch([{ body: "a" }, { body: "b" }], { partitionId: "1" });
    await producer.sendBatch([{ body: "c", properties: { kept: true } }], { partitionId: "1" });
    const before = await readAll(first.emulator.connectionString(first.hub), "1", 3);
    const createdOn = (await producer.getEventHubProperties()).createdOn.getTime();
    await producer.close();
    await first.emulator.close();

    const second = await startTestEmulator(resources, { dataDir, hubs });
    const connectionString = second.emulator.connectionString(second.hub);
    const after = await readAll(connectionString, "1", 3);
    assert.deepEqual(
      after.map((e) => [
        e.body as unknown,
        e.sequenceNumber,
        e.offset,
        e.enqueuedTimeUtc.getTime(),
        e.properties,
      ]),
      before.map((e) => [
        e.body as unknown,
        e.sequenceNumber,
        e.offset,
        e.enqueuedTimeUtc.getTime(),
        e.properties,
      ]),
    );
    const again = resources.add(new EventHubProducerClient(connectionString));
    assert.equal((await again.getEventHubProperties()).createdOn.getTime(), createdOn, "same creation time");
    await again.sendBatch([{ body: "d" }], { partitionId: "1" });
    const properties = await again.getPartitionProperties("1");
    assert.equal(properties.lastEnqueuedSequenceNumber, 3, "numbering continues after the restart");
    assert.equal((await again.getPartitionProperties("0")).isEmpty, true);
    const all = await readAll(connectionString, "1", 4);
    assert.deepEqual(
      all.map((e) => e.body as unknown),
      ["a", "b", "c", "d"],
    );
  });

  void test("retention by count keeps the newest events; sequence numbers are not reused", async () => {
    const { emulator, hub } = await startTestEmulator(resources, { retention: { maxEvents: 3 } });
    const producer = resources.add(new EventHubProducerClient(emulator.connectionString(hub)));
    for (let i = 0; i < 5; i++) await producer.sendBatch([{ body: i }], { partitionId: "0" });
    const properties = await producer.getPartitionProperties("0");
    assert.equal(properties.beginningSequenceNumber, 2);
    assert.equal(properties.lastEnqueuedSequenceNumber, 4);
    const events = await readAll(emulator.connectionString(hub), "0", 3);
    assert.deepEqual(
      events.map((e) => [e.body as unknown, e.sequenceNumber]),
      [
        [2, 2],
        [3, 3],
        [4, 4],
      ],
    );
  });

  void test("retention by age drops events older than the limit, also across a restart", async () => {
    const dataDir = await temporaryDir();
    const hubs = [{ name: uniqueName("hub"), partitions: 1 }];
    const first = await startTestEmulator(resources, { dataDir, hubs });
    const producer = resources.add(new EventHubProducerClient(first.emulator.connectionString(first.hub)));
    await producer.sendBatch([{ body: "old" }], { partitionId: "0" });
    const oldTime = (await producer.getPartitionProperties("0")).lastEnqueuedOnUtc.getTime();
    await producer.close();
    await first.emulator.close();
    await waitFor(() => Date.now() > oldTime + 1100, { description: "the old event to age" });

    const second = await startTestEmulator(resources, { dataDir, hubs, retention: { maxAgeMs: 1000 } });
    const again = resources.add(new EventHubProducerClient(second.emulator.connectionString(second.hub)));
    const properties = await again.getPartitionProperties("0");
    assert.equal(properties.isEmpty, true, "the aged event is gone");
    assert.equal(properties.beginningSequenceNumber, 1);
    assert.equal(properties.lastEnqueuedSequenceNumber, 0, "the last sequence number is remembered");
    await again.close();
    await second.emulator.close();

    const third = await startTestEmulator(resources, { dataDir, hubs, retention: { maxAgeMs: 1000 } });
    const producer3 = resources.add(new EventHubProducerClient(third.emulator.connectionString(third.hub)));
    await producer3.sendBatch([{ body: "new" }], { partitionId: "0" });
    const continued = await producer3.getPartitionProperties("0");
    assert.equal(continued.lastEnqueuedSequenceNumber, 1, "numbering continues after an emptied log");
  });
});
