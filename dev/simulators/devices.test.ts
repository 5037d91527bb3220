import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EventData } from "@azure/event-hubs";
import { simulateDevices } from "./devices.ts";

/** A producer that records what it was given, per partition key. */
function recordingProducer() {
  const sent: { partitionKey: string; body: string }[] = [];
  const producer = {
    createBatch: ({ partitionKey }: { partitionKey?: string } = {}) => {
      const events: EventData[] = [];
      return Promise.resolve({
        partitionKey,
        get count() {
          return events.length;
        },
        tryAdd: (event: EventData) => events.push(event) > 0,
        events,
      });
    },
    sendBatch: (batch: { partitionKey: string; events: EventData[] }) => {
      for (const e of batch.events) sent.push({ partitionKey: batch.partitionKey, body: String(e.body) });
      return Promise.resolve();
    },
  };
  return { producer: producer as never, sent };
}

describe("simulateDevices", () => {
  test("sends exactly --count events over the devices, partition key = deviceId", async () => {
    const { producer, sent } = recordingProducer();
    const result = await simulateDevices({ producer, devices: 4, rate: 100_000, count: 40 });
    assert.equal(result.sent, 40);
    assert.equal(sent.length, 40);
    assert.deepEqual([...new Set(sent.map((s) => s.partitionKey))].sort(), [
      "sim-0",
      "sim-1",
      "sim-2",
      "sim-3",
    ]);
    for (const s of sent) assert.equal((JSON.parse(s.body) as { deviceId: string }).deviceId, s.partitionKey);
  });

  test("--invalid-ratio mixes in bad JSON, schema violations and events without a deviceId", async () => {
    const { producer, sent } = recordingProducer();
    let i = 0;
    const result = await simulateDevices({
      producer,
      devices: 2,
      rate: 100_000,
      count: 30,
      invalidRatio: 0.5,
      random: () => (i++ % 2 === 0 ? 0.1 : 0.9),
    });
    assert.ok(result.invalid > 0 && result.invalid < 30);
    const kinds = sent.map((s) => {
      try {
        const body = JSON.parse(s.body) as { deviceId?: string; type?: string };
        if (body.deviceId === undefined) return "no device";
        return body.type === "smoke-signal" ? "schema" : "valid";
      } catch {
        return "bad json";
      }
    });
    assert.deepEqual([...new Set(kinds)].sort(), ["bad json", "no device", "schema", "valid"]);
  });
});
