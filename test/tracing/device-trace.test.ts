// A device event is one trace in a real Jaeger: the producer's Diagnostic-Id (set by the Azure SDK itself) →
// device-ingest's span for that event with its outcome, linked to the batch span (Cosmos bulk write, checkpoint).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SpanKind, context, trace } from "@opentelemetry/api";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import { ENTRY_POINT } from "../../shared/telemetry/spans.ts";
import { useAzureSdkTracing } from "../../shared/telemetry/instrumentations.ts";
import { startTelemetry, type Telemetry } from "../../shared/telemetry/start-telemetry.ts";
import { telemetrySettings } from "../../shared/telemetry/telemetry-config.ts";
import { eventfleetTracer } from "../../shared/telemetry/tracing-state.ts";
import { DeviceTestProbe, Replica, deviceTestEnv, startHub } from "../support/device-fixture.ts";
import {
  TestJaeger,
  describeTrace,
  orphans,
  parentOf,
  serviceOf,
  spanEvents,
  tag,
  type JaegerTrace,
} from "../support/jaeger.ts";
import { waitFor } from "../support/wait.ts";

describe("a device event is one trace in Jaeger", () => {
  let jaeger: TestJaeger;
  let emulator: EventHubsEmulator;
  let probe: DeviceTestProbe;
  let replica: Replica;
  let producerTelemetry: Telemetry;

  before(async () => {
    jaeger = await TestJaeger.start();
    const hub = await startHub(1);
    emulator = hub.emulator;
    // A checkpoint after every event, so it happens within the batch (and its span) that made the event durable.
    const env = { ...(await deviceTestEnv(hub.connectionString)), DEVICE_INGEST_CHECKPOINT_EVENTS: "1" };
    replica = await Replica.start({ ...env, ...jaeger.otelEnv });
    await replica.waitReady();
    // This test process is the device: its Event Hubs SDK traces like any instrumented producer would.
    producerTelemetry = await startTelemetry(
      telemetrySettings("device-simulator", { ...jaeger.otelEnv, OTEL_SERVICE_NAME: "device-simulator" }),
    );
    useAzureSdkTracing();
    probe = new DeviceTestProbe(env);
  });

  after(async () => {
    await replica?.terminate();
    await probe?.close();
    await producerTelemetry?.shutdown();
    await emulator?.close();
    await jaeger?.stop();
  });

  /** Sends one event from inside a root span of the "device"; returns that trace's id. */
  async function sendTraced(deviceId: string, body: object): Promise<string> {
    const root = eventfleetTracer().startSpan("device reading", {
      kind: SpanKind.INTERNAL,
      attributes: { [ENTRY_POINT]: true, "eventfleet.device_id": deviceId },
    });
    try {
      await context.with(trace.setSpan(context.active(), root), () =>
        probe.send([{ partitionKey: deviceId, body }]),
      );
    } finally {
      root.end();
    }
    await producerTelemetry.forceFlush();
    return root.spanContext().traceId;
  }

  const ingestSpan = (t: JaegerTrace) =>
    t.spans.find(
      (s) => serviceOf(t, s) === "eventfleet-device-ingest" && s.operationName.startsWith("process "),
    );

  test("an event reaching Cosmos: producer → its ingest span (stored), linked to the batch with the bulk write and the checkpoint", async () => {
    const deviceId = `trace-ok-${Date.now()}`;
    const traceId = await sendTraced(deviceId, {
      deviceId,
      eventId: "1",
      type: "telemetry",
      ts: new Date().toISOString(),
      payload: { celsius: 21.5 },
    });
    const eventTrace = await jaeger.waitForTrace(
      traceId,
      (t) => ingestSpan(t) !== undefined,
      "the ingest span",
    );
    const tree = describeTrace(eventTrace);
    const ingest = ingestSpan(eventTrace)!;
    assert.deepEqual(orphans(eventTrace), [], tree);
    assert.equal(tag(ingest, "eventfleet.device_id"), deviceId);
    assert.equal(tag(ingest, "eventfleet.outcome"), "stored");
    assert.ok(
      spanEvents(ingest).some((e) => e.name === "stored"),
      tree,
    );
    // Its parent is the SDK's own span for the message: the context came in the Diagnostic-Id property.
    const producer = eventTrace.spans.find((s) => s.spanID === parentOf(ingest));
    assert.ok(producer, tree);
    assert.equal(serviceOf(eventTrace, producer), "device-simulator");
    assert.notEqual(producer.operationName, "device reading", "a span the Azure SDK made, not ours");
    assert.ok((await probe.telemetryIds()).includes(`${deviceId}:1`), "stored in Cosmos");

    // The batch: its own trace, linked to each event's producer span, with the Cosmos write and the checkpoint.
    const link = ingest.references.find((r) => r.refType === "FOLLOWS_FROM");
    assert.ok(link, `the event span links to its batch:\n${tree}`);
    const batch = await jaeger.waitForTrace(
      link.traceID,
      (t) => t.spans.some((s) => s.operationName === "checkpoint"),
      "the batch trace with its checkpoint",
    );
    const batchTree = describeTrace(batch);
    const batchSpan = batch.spans.find((s) => s.spanID === link.spanID)!;
    assert.ok(
      batchSpan.references.some((r) => r.refType === "FOLLOWS_FROM" && r.spanID === producer.spanID),
      `the batch span links to the producer's span:\n${batchTree}`,
    );
    for (const name of ["upsert telemetry", "upsert devices", "checkpoint"]) {
      const span = batch.spans.find((s) => s.operationName === name);
      assert.ok(span && parentOf(span) === batchSpan.spanID, `${name} under the batch span:\n${batchTree}`);
    }
    assert.deepEqual(orphans(batch), [], batchTree);
  });

  test("an event reaching the dead-letter queue: its ingest span says dead_letter and why", async () => {
    const deviceId = `trace-bad-${Date.now()}`;
    const traceId = await sendTraced(deviceId, { deviceId, type: "smoke", ts: "yesterday", payload: {} });
    const eventTrace = await jaeger.waitForTrace(
      traceId,
      (t) => ingestSpan(t) !== undefined,
      "the ingest span",
    );
    const ingest = ingestSpan(eventTrace)!;
    const tree = describeTrace(eventTrace);
    assert.equal(tag(ingest, "eventfleet.outcome"), "dead_letter", tree);
    assert.equal(tag(ingest, "eventfleet.device_id"), deviceId);
    const letter = spanEvents(ingest).find((e) => e.name === "dead_letter");
    assert.ok(letter, tree);
    assert.equal(letter.attributes["eventfleet.reason"], "schema_invalid");
    assert.deepEqual(orphans(eventTrace), [], tree);
    await waitFor(async () => (await probe.peekDeadLetters()).length > 0, {
      timeoutMs: 30_000,
      description: "the dead letter in the queue",
    });
  });
});
