import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deviceStateDocument, isNewerState, newestPerDevice } from "./device-documents.ts";

const state = (deviceId: string, ts: string, id: string) =>
  deviceStateDocument({ deviceId, type: "status", ts, payload: {} }, id, new Date(0));

describe("device state ordering", () => {
  test("a newer device time replaces, an older one never does", () => {
    const older = state("d", "2026-01-01T10:00:00Z", "d:a");
    const newer = state("d", "2026-01-01T10:00:01Z", "d:b");
    assert.equal(isNewerState(newer, older), true);
    assert.equal(isNewerState(older, newer), false);
    assert.equal(isNewerState(older, undefined), true);
  });

  test("times with different offsets compare as instants, not strings", () => {
    const utc = state("d", "2026-01-01T10:00:00Z", "d:a");
    const later = state("d", "2026-01-01T11:30:00+01:00", "d:b"); // 10:30 UTC
    assert.equal(isNewerState(later, utc), true);
  });

  test("equal times settle on the larger document id whatever the arrival order", () => {
    const a = state("d", "2026-01-01T10:00:00Z", "d:a");
    const b = state("d", "2026-01-01T10:00:00Z", "d:b");
    assert.equal(isNewerState(b, a), true);
    assert.equal(isNewerState(a, b), false);
  });

  test("newestPerDevice keeps one newest state per device", () => {
    const picked = newestPerDevice([
      state("x", "2026-01-01T10:00:02Z", "x:2"),
      state("y", "2026-01-01T10:00:00Z", "y:0"),
      state("x", "2026-01-01T10:00:03Z", "x:3"),
      state("x", "2026-01-01T10:00:01Z", "x:1"),
    ]);
    assert.deepEqual(picked.map((s) => s.lastEventDocumentId).sort(), ["x:3", "y:0"]);
  });
});
