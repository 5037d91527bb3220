import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bodyBytes, decodeDeviceEvent, type EventPosition } from "./event-decoding.ts";

const position: EventPosition = {
  partitionId: "2",
  sequenceNumber: 41,
  offset: "4096",
  enqueuedTime: new Date(0),
};
const decode = (body: unknown, max = 1024) => decodeDeviceEvent(bodyBytes(body), position, max);
const valid = { deviceId: "dev-1", type: "telemetry", ts: "2026-01-01T00:00:00Z", payload: { t: 21.5 } };

describe("decodeDeviceEvent", () => {
  test("a valid event gets the id <deviceId>:<eventId>", () => {
    const decoded = decode(JSON.stringify({ ...valid, eventId: "e1" }));
    assert.equal(decoded.valid, true);
    assert.equal(decoded.valid && decoded.documentId, "dev-1:e1");
  });

  test("without an eventId the id derives from partition and sequence number, so redelivery overwrites", () => {
    const decoded = decode(Buffer.from(JSON.stringify(valid)));
    assert.equal(decoded.valid && decoded.documentId, "dev-1:p2-s41");
  });

  test("bad JSON, a missing deviceId, schema violations and oversized bodies each get their reason", () => {
    const reasons = [
      decode("{not json"),
      decode(JSON.stringify({ ...valid, deviceId: undefined })),
      decode(JSON.stringify({ ...valid, type: "nonsense" })),
      decode(JSON.stringify([1, 2])),
      decode(JSON.stringify({ ...valid, payload: { blob: "x".repeat(2000) } })),
    ].map((d) => (d.valid ? "valid" : d.reason));
    assert.deepEqual(reasons, [
      "invalid_json",
      "missing_device_id",
      "schema_invalid",
      "schema_invalid",
      "too_large",
    ]);
  });

  test("a schema violation names the field", () => {
    const decoded = decode(JSON.stringify({ ...valid, ts: "yesterday" }));
    assert.equal(decoded.valid, false);
    assert.match(!decoded.valid ? decoded.error : "", /^ts: /);
  });

  test("the original bytes are kept for the dead letter", () => {
    const decoded = decode(Buffer.from([0xff, 0xfe, 0x00]));
    assert.equal(decoded.valid, false);
    assert.deepEqual([...decoded.bytes], [0xff, 0xfe, 0x00]);
  });
});
