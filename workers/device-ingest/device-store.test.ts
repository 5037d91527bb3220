import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Container, OperationInput } from "@azure/cosmos";
import { pino } from "pino";
import { Registry } from "prom-client";
import { deviceStateDocument, telemetryDocument } from "./device-documents.ts";
import { DeviceStore } from "./device-store.ts";
import { createIngestMetrics } from "./ingest-metrics.ts";

type Answer = { statusCode: number } | { throws: { code: number; retryAfterInMs?: number } };
/** A container whose bulk endpoint answers from a script (per call), then stores like Cosmos would. */
function fakeContainer(script: (Answer[] | Answer)[] = []) {
  const docs = new Map<string, { body: Record<string, unknown>; etag: string }>();
  const calls: OperationInput[][] = [];
  let version = 0;
  const apply = (op: OperationInput) => {
    const id =
      "id" in op && op.id
        ? op.id
        : String((op as unknown as { resourceBody: { id: string } }).resourceBody.id);
    const current = docs.get(id);
    if (op.operationType === "Read") {
      return current
        ? { statusCode: 200, requestCharge: 1, eTag: current.etag, resourceBody: current.body }
        : { statusCode: 404, requestCharge: 1 };
    }
    if (op.operationType === "Create" && current) return { statusCode: 409, requestCharge: 1 };
    if (op.operationType === "Replace" && (!current || (op.ifMatch && op.ifMatch !== current.etag))) {
      return { statusCode: 412, requestCharge: 1 };
    }
    const body = (op as unknown as { resourceBody: Record<string, unknown> }).resourceBody;
    const etag = `e${++version}`;
    docs.set(id, { body, etag });
    return { statusCode: 200, requestCharge: 2, eTag: etag };
  };
  const container = {
    items: {
      bulk: (ops: OperationInput[]) => {
        calls.push(ops);
        const scripted = script.shift();
        if (scripted && !Array.isArray(scripted) && "throws" in scripted) {
          return Promise.reject(Object.assign(new Error("throttled"), scripted.throws));
        }
        return Promise.resolve(
          ops.map((op, i) => {
            const answer = Array.isArray(scripted) ? scripted[i] : undefined;
            if (answer && "statusCode" in answer && answer.statusCode >= 400) {
              return { statusCode: answer.statusCode, requestCharge: 0 };
            }
            return apply(op);
          }),
        );
      },
    },
  };
  return { container: container as unknown as Container, docs, calls };
}

const logger = pino({ level: "silent" });
const event = (deviceId: string, ts: string, eventId: string) => ({
  deviceId,
  eventId,
  type: "telemetry" as const,
  ts,
  payload: { n: eventId },
});
const position = { partitionId: "0", sequenceNumber: 1, offset: "1", enqueuedTime: new Date(0) };

function store(telemetry: Container, devices: Container) {
  const registry = new Registry();
  const metrics = createIngestMetrics(registry);
  return {
    registry,
    store: new DeviceStore({
      telemetry,
      devices,
      mode: "bulk",
      backoff: { baseMs: 1, maxMs: 5 },
      metrics,
      logger,
    }),
  };
}

describe("DeviceStore", () => {
  test("a throttled request is retried after the service's retry-after, and counted", async () => {
    const telemetry = fakeContainer([{ throws: { code: 429, retryAfterInMs: 30 } }]);
    const { store: s, registry } = store(telemetry.container, fakeContainer().container);
    const docs = ["a", "b"].map((id) =>
      telemetryDocument(event("d", "2026-01-01T00:00:00Z", id), `d:${id}`, position),
    );
    const started = Date.now();
    const rejected = await s.writeTelemetry(docs, new AbortController().signal);
    assert.deepEqual(rejected, []);
    assert.ok(Date.now() - started >= 25, "waited for retry-after");
    assert.deepEqual([...telemetry.docs.keys()].sort(), ["d:a", "d:b"]);
    const throttles = await registry.getSingleMetric("eventfleet_cosmos_throttles_total")!.get();
    assert.equal(throttles.values[0]?.value, 2);
  });

  test("only the throttled operations of a bulk request are retried", async () => {
    const telemetry = fakeContainer([[{ statusCode: 429 }, { statusCode: 200 }]]);
    const { store: s } = store(telemetry.container, fakeContainer().container);
    const docs = ["a", "b"].map((id) =>
      telemetryDocument(event("d", "2026-01-01T00:00:00Z", id), `d:${id}`, position),
    );
    assert.deepEqual(await s.writeTelemetry(docs, new AbortController().signal), []);
    assert.deepEqual(
      telemetry.calls.map((c) => c.length),
      [2, 1],
    );
    assert.deepEqual([...telemetry.docs.keys()].sort(), ["d:a", "d:b"]);
  });

  test("a document Cosmos refuses (400) is returned for the dead-letter queue, not retried", async () => {
    const telemetry = fakeContainer([[{ statusCode: 400 }]]);
    const { store: s } = store(telemetry.container, fakeContainer().container);
    const doc = telemetryDocument(event("d", "2026-01-01T00:00:00Z", "x"), "d:x", position);
    const rejected = await s.writeTelemetry([doc], new AbortController().signal);
    assert.equal(rejected.length, 1);
    assert.equal(telemetry.calls.length, 1);
  });

  test("an outage is retried until the signal aborts, then the batch is given up", async () => {
    const down: Answer[][] = Array.from({ length: 1000 }, () => [{ statusCode: 503 }]);
    const telemetry = fakeContainer(down);
    const { store: s } = store(telemetry.container, fakeContainer().container);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const doc = telemetryDocument(event("d", "2026-01-01T00:00:00Z", "x"), "d:x", position);
    await assert.rejects(s.writeTelemetry([doc], controller.signal), { name: "RetryAbandonedError" });
    assert.ok(telemetry.calls.length > 1);
  });

  test("device state: an older event never replaces a newer one, a newer one does", async () => {
    const devices = fakeContainer();
    const { store: s } = store(fakeContainer().container, devices.container);
    const at = (ts: string, id: string) => deviceStateDocument(event("d", ts, id), `d:${id}`, new Date(0));
    const signal = new AbortController().signal;
    await s.updateDeviceStates([at("2026-01-01T00:00:05Z", "new")], signal);
    await s.updateDeviceStates([at("2026-01-01T00:00:01Z", "old")], signal);
    assert.equal(devices.docs.get("d")?.body.lastEventDocumentId, "d:new");
    await s.updateDeviceStates(
      [at("2026-01-01T00:00:09Z", "newest"), at("2026-01-01T00:00:02Z", "x")],
      signal,
    );
    assert.equal(devices.docs.get("d")?.body.lastEventDocumentId, "d:newest");
  });

  test("device state: a replace that lost a race (412) is re-read and decided again", async () => {
    const devices = fakeContainer();
    const { store: s } = store(fakeContainer().container, devices.container);
    const signal = new AbortController().signal;
    const at = (ts: string, id: string) => deviceStateDocument(event("d", ts, id), `d:${id}`, new Date(0));
    await s.updateDeviceStates([at("2026-01-01T00:00:01Z", "first")], signal);
    // The first replace loses a race (someone wrote between our read and write); the store must read again.
    const items = devices.container.items as unknown as {
      bulk: (ops: OperationInput[]) => Promise<{ statusCode: number; requestCharge: number }[]>;
    };
    const original = items.bulk;
    let writes = 0;
    items.bulk = async (ops) => {
      if (ops[0]?.operationType === "Replace" && writes++ === 0) {
        return ops.map(() => ({ statusCode: 412, requestCharge: 0 }));
      }
      return original(ops);
    };
    await s.updateDeviceStates([at("2026-01-01T00:00:02Z", "second")], signal);
    assert.equal(writes, 2);
    assert.equal(devices.docs.get("d")?.body.lastEventDocumentId, "d:second");
  });
});
