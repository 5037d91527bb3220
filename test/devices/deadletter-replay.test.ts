// `eventfleet deadletter replay` after the cause is fixed: the events are written and the queue empties.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import { ROOT } from "../support/stack.ts";
import { waitFor } from "../support/wait.ts";
import {
  DeviceTestProbe,
  deviceTestEnv,
  startHub,
  startInProcessWorker,
  validEvents,
} from "../support/device-fixture.ts";

const run = promisify(execFile);

describe("eventfleet deadletter", () => {
  let emulator: EventHubsEmulator;
  let probe: DeviceTestProbe;
  let env: Record<string, string>;
  const cli = (...args: string[]) =>
    run(process.execPath, [join(ROOT, "bin/eventfleet.js"), "deadletter", ...args], {
      env: { ...process.env, ...env },
      timeout: 120_000,
    });

  before(async () => {
    const hub = await startHub(2);
    emulator = hub.emulator;
    env = await deviceTestEnv(hub.connectionString);
    probe = new DeviceTestProbe(env);
  });

  after(async () => {
    await probe?.close();
    await emulator?.close();
  });

  test("replay after fixing the cause writes the events, deletes their blobs and empties the queue", async () => {
    // The cause: a worker configured with a far too small event size limit dead-letters good events.
    const { worker } = startInProcessWorker(env, { maxEventBytes: 1024 });
    const events = validEvents("r", 6, 3).map((e, i) => ({
      ...e,
      body: { ...e.body, payload: { ...e.body.payload, pad: "p".repeat(i === 0 ? 100 * 1024 : 2048) } },
    }));
    await probe.send(events);
    await waitFor(async () => (await probe.peekDeadLetters()).length === 6, {
      timeoutMs: 60_000,
      description: "6 dead letters",
    });
    await probe.waitCheckpointsAtEnd();
    await worker.stop();
    const letters = await probe.peekDeadLetters();
    assert.ok(letters.every((l) => l.reason === "too_large"));
    assert.equal(
      letters.filter((l) => l.body.location === "blob").length,
      1,
      "the 100 KiB body went to a blob",
    );
    assert.deepEqual(await probe.telemetryIds(), []);

    const stats = await cli("stats");
    assert.match(stats.stdout, /about 6 dead letters/);
    assert.match(stats.stdout, /6\s+too_large/);

    // `peek` takes -n/--count like `dlq peek`; --number is still accepted.
    const peekJson = async (...args: string[]) =>
      JSON.parse((await cli("peek", "--json", ...args)).stdout) as {
        messageId: string;
        dequeueCount: number;
      }[];
    assert.equal((await peekJson("-n", "2")).length, 2);
    assert.equal((await peekJson("--count", "3")).length, 3);
    assert.equal((await peekJson("--number", "4")).length, 4);

    // The fix: the default limit (256 KiB). A dry run changes nothing, not even the messages' dequeue counts.
    const before = await peekJson();
    const dry = await cli("replay", "--dry-run");
    assert.match(dry.stdout, /6 would be replayed to cosmos/);
    assert.deepEqual(await peekJson(), before, "same messages, same dequeue counts after a dry run");

    const replay = await cli("replay");
    assert.match(replay.stdout, /6 replayed to cosmos, 0 kept/);
    assert.deepEqual(await probe.telemetryIds(), events.map((e) => e.id).sort());
    assert.equal(await probe.queueDepth(), 0);
    const blobs = [];
    for await (const blob of probe.deadLetterBlobs.listBlobsFlat()) blobs.push(blob.name);
    assert.deepEqual(blobs, [], "the large body's blob is deleted after its event was written");
  });

  test("replay --to eventhub sends the events back through the hub, where a fixed worker stores them", async () => {
    const broken = startInProcessWorker(env, { maxEventBytes: 1024 }).worker;
    const events = validEvents("h", 2, 2).map((e) => ({
      ...e,
      body: { ...e.body, payload: { ...e.body.payload, pad: "p".repeat(2048) } },
    }));
    await probe.send(events);
    await waitFor(async () => (await probe.peekDeadLetters()).length === 2, {
      timeoutMs: 60_000,
      description: "2 dead letters",
    });
    await probe.waitCheckpointsAtEnd();
    await broken.stop();

    const fixed = startInProcessWorker(env).worker;
    try {
      const replay = await cli("replay", "--to", "eventhub");
      assert.match(replay.stdout, /2 replayed to eventhub, 0 kept/);
      await waitFor(
        async () => {
          const ids = new Set(await probe.telemetryIds());
          return events.every((e) => ids.has(e.id));
        },
        { timeoutMs: 60_000, description: "the replayed events stored by the worker" },
      );
      assert.equal(await probe.queueDepth(), 0);
    } finally {
      await fixed.stop();
    }
  });
});
