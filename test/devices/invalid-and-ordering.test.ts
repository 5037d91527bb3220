// What the worker does with events it cannot store, and with events of one device arriving out of order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import type { Registry } from "prom-client";
import type { ComposedDeviceIngest } from "../../workers/device-ingest/compose.ts";
import { waitFor } from "../support/wait.ts";
import { DeviceTestProbe, deviceTestEnv, startHub, startInProcessWorker } from "../support/device-fixture.ts";

describe("device-ingest: invalid events and ordering", () => {
  let emulator: EventHubsEmulator;
  let probe: DeviceTestProbe;
  let worker: ComposedDeviceIngest;
  let registry: Registry;

  before(async () => {
    const hub = await startHub(2);
    emulator = hub.emulator;
    const env = await deviceTestEnv(hub.connectionString);
    probe = new DeviceTestProbe(env);
    ({ worker, registry } = startInProcessWorker(env));
  });

  after(async () => {
    await worker?.stop();
    await probe?.close();
    await emulator?.close();
  });

  test("bad JSON, schema violations, a missing deviceId and a 300 KiB body are dead-lettered with reasons, none stored", async () => {
    const ts = "2026-02-01T00:00:00Z";
    const large = JSON.stringify({
      deviceId: "inv-big",
      type: "telemetry",
      ts,
      payload: { blob: "x".repeat(300 * 1024) },
    });
    await probe.send([
      { partitionKey: "inv-json", body: '{"deviceId": "inv-json", "type": ' },
      { partitionKey: "inv-schema", body: { deviceId: "inv-schema", type: "smoke", ts, payload: {} } },
      { partitionKey: "inv-nodevice", body: { type: "telemetry", ts, payload: {} } },
      { partitionKey: "inv-big", body: large },
      { partitionKey: "inv-ok", body: { deviceId: "inv-ok", eventId: "1", type: "status", ts, payload: {} } },
    ]);
    const letters = await waitFor(
      async () => {
        const peeked = await probe.peekDeadLetters();
        return peeked.length === 4 && peeked;
      },
      { timeoutMs: 60_000, intervalMs: 250, description: "4 dead letters" },
    );

    const byReason = new Map(letters.map((l) => [l.reason, l]));
    assert.deepEqual([...byReason.keys()].sort(), [
      "invalid_json",
      "missing_device_id",
      "schema_invalid",
      "too_large",
    ]);
    for (const letter of letters) {
      assert.match(letter.partitionId, /^[01]$/);
      assert.ok(
        letter.sequenceNumber >= 0 &&
          letter.offset.length > 0 &&
          !Number.isNaN(Date.parse(letter.enqueuedTime)),
      );
      assert.ok(letter.error.length > 0);
    }
    assert.deepEqual(byReason.get("invalid_json")!.body, {
      location: "inline",
      encoding: "utf8",
      data: '{"deviceId": "inv-json", "type": ',
    });
    assert.match(byReason.get("schema_invalid")!.error, /type/);
    const big = byReason.get("too_large")!;
    assert.equal(big.body.location, "blob");
    assert.equal(big.bodyBytes, Buffer.byteLength(large));
    if (big.body.location === "blob") {
      const stored = await probe.deadLetterBlobs.getBlockBlobClient(big.body.blobName).downloadToBuffer();
      assert.equal(stored.toString("utf8"), large, "the large body is kept byte for byte in blob storage");
    }

    await waitFor(async () => (await probe.telemetryIds()).length === 1, {
      description: "the valid event stored",
    });
    assert.deepEqual(await probe.telemetryIds(), ["inv-ok:1"], "no invalid event in Cosmos");
    // Dead-lettered events are durable too: the checkpoints move past them.
    await probe.waitCheckpointsAtEnd(30_000);
  });

  test("out-of-order events of one device: `devices` keeps the newest, telemetry keeps them all", async () => {
    const at = (second: number) => ({
      partitionKey: "ooo-1",
      body: {
        deviceId: "ooo-1",
        eventId: `s${second}`,
        type: "status",
        ts: new Date(Date.UTC(2026, 2, 1, 0, 0, second)).toISOString(),
        payload: { second },
      },
    });
    const state = async () =>
      (await probe.devices.item("ooo-1", "ooo-1").read<{ payload: { second: number } }>()).resource;
    // Checkpoints follow only complete batches (telemetry and device state written), so they mark "done".
    const caughtUp = () => probe.waitCheckpointsAtEnd(30_000);
    await probe.send([at(5)]);
    await caughtUp();
    await probe.send([at(1)]); // older, in a later batch
    await caughtUp();
    assert.equal((await state())?.payload.second, 5);
    await probe.send([at(9), at(3)]); // newest first within one batch
    await caughtUp();
    assert.equal((await state())?.payload.second, 9);
    await probe.send([at(2)]);
    await caughtUp();
    const ids = (await probe.telemetryIds()).filter((id) => id.startsWith("ooo-1:"));
    assert.deepEqual(ids, ["ooo-1:s1", "ooo-1:s2", "ooo-1:s3", "ooo-1:s5", "ooo-1:s9"]);
    assert.equal((await state())?.payload.second, 9, "an older event never replaces the newest state");
  });

  test("exports the device-ingest metrics of docs/metrics.md, with lag and checkpoint age back at 0 when caught up", async () => {
    await probe.waitCheckpointsAtEnd();
    const text = await waitFor(
      async () => {
        const t = await registry.metrics();
        return /eventfleet_queue_depth_messages\{queue="telemetry-deadletter",kind="dlq"\} 4/.test(t) && t;
      },
      { timeoutMs: 30_000, description: "dead-letter queue depth 4 exported" },
    );
    for (const name of [
      "eventfleet_eventhub_events_total",
      "eventfleet_eventhub_partition_lag_events",
      "eventfleet_eventhub_owned_partitions",
      "eventfleet_eventhub_checkpoint_age_seconds",
      "eventfleet_eventhub_batch_duration_seconds",
      "eventfleet_cosmos_request_charge_total",
      "eventfleet_cosmos_throttles_total",
      "eventfleet_deadletters_total",
      "eventfleet_queue_depth_messages",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
    }
    assert.match(text, /^eventfleet_eventhub_owned_partitions 2$/m);
    assert.match(text, /^eventfleet_eventhub_events_total\{partition="\d",outcome="dead_letter"\} \d+$/m);
    assert.match(text, /^eventfleet_deadletters_total\{reason="too_large"\} 1$/m);
    assert.match(
      text,
      /^eventfleet_cosmos_request_charge_total\{container="telemetry",operation="upsert"\} [1-9]/m,
    );
    await waitFor(
      async () => {
        const t = await registry.metrics();
        const lags = [...t.matchAll(/^eventfleet_eventhub_partition_lag_events\{partition="\d"\} (\d+)$/gm)];
        const ages = [
          ...t.matchAll(/^eventfleet_eventhub_checkpoint_age_seconds\{partition="\d"\} (\S+)$/gm),
        ];
        return lags.length === 2 && lags.every((m) => m[1] === "0") && ages.every((m) => m[1] === "0");
      },
      { timeoutMs: 30_000, description: "lag and checkpoint age 0 on both partitions" },
    );
  });
});
