// The device flow's spans. A batch from one partition is one `process <hub>` span LINKED to each event's producer
// context (a batch has many parents, so it takes none); each event that arrived with a context also gets its own
// `process <hub>` span in the producer's trace, with its outcome (stored in Cosmos, or dead-lettered and why).
import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  createContextKey,
  trace,
  type Link,
  type SpanContext,
} from "@opentelemetry/api";
import { ATTR } from "./messaging-spans.ts";
import { ENTRY_POINT, inSpan, startSpan } from "./spans.ts";
import { spanContextOf } from "./trace-context.ts";
import { tracingActive } from "./tracing-state.ts";

/** What we read of a received Event Hubs event (structurally the SDK's ReceivedEventData). */
export interface TracedDeviceEvent {
  sequenceNumber: number;
  body: unknown;
  properties?: Record<string, unknown> | undefined;
}

/** A dead letter of the batch, by the event's sequence number. */
export interface DeadLetteredEvent {
  reason: string;
  error: string;
  position: { sequenceNumber: number };
}

/**
 * The producer's context: `Diagnostic-Id` (what the Azure SDKs set, in traceparent format) or `traceparent`
 * (what other producers set, as the CloudEvents AMQP binding does).
 */
export function producerContext(event: TracedDeviceEvent): SpanContext | undefined {
  const property = event.properties?.["Diagnostic-Id"] ?? event.properties?.traceparent;
  return typeof property === "string" ? spanContextOf(property) : undefined;
}

function deviceIdOf(body: unknown): string | undefined {
  try {
    const text =
      Buffer.isBuffer(body) || body instanceof Uint8Array ? Buffer.from(body).toString("utf8") : body;
    const parsed = (typeof text === "string" ? JSON.parse(text) : text) as { deviceId?: unknown } | null;
    return typeof parsed?.deviceId === "string" ? parsed.deviceId : undefined;
  } catch {
    return undefined;
  }
}

/** When the batch started: each event's own span starts then too. */
const BATCH_STARTED_AT = createContextKey("eventfleet.device_batch_started_at");

const eventHubs = (hub: string, partition: string) => ({
  "messaging.system": "eventhubs",
  "messaging.destination.name": hub,
  "messaging.destination.partition.id": partition,
  "messaging.operation.type": "process",
  "messaging.operation.name": "process",
});

/** Runs the handling of one partition's batch in its `process <hub>` span, linked to every event's producer. */
export function inDeviceBatchSpan<T>(
  events: readonly TracedDeviceEvent[],
  hub: string,
  partition: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingActive() || events.length === 0) return work();
  const links: Link[] = events.flatMap((event) => {
    const producer = producerContext(event);
    return producer
      ? [
          {
            context: producer,
            attributes: { "messaging.eventhubs.message.sequence_number": event.sequenceNumber },
          },
        ]
      : [];
  });
  const open = startSpan(
    `process ${hub}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...eventHubs(hub, partition),
        "messaging.batch.message_count": events.length,
        [ENTRY_POINT]: true,
      },
    },
    ROOT_CONTEXT,
  );
  return inSpan({ ...open, context: open.context.setValue(BATCH_STARTED_AT, Date.now()) }, work);
}

/**
 * Once the batch is durable: one span per event that carried a producer context, in that producer's trace and
 * linked to the batch span (the active one), saying where the event went.
 */
export function recordDeviceOutcomes(
  events: readonly TracedDeviceEvent[],
  hub: string,
  partition: string,
  deadLettered: readonly DeadLetteredEvent[],
): void {
  if (!tracingActive()) return;
  const startedAt = context.active().getValue(BATCH_STARTED_AT) as number | undefined;
  const batch = trace.getSpanContext(context.active());
  const letters = new Map(deadLettered.map((letter) => [letter.position.sequenceNumber, letter]));
  for (const event of events) {
    const producer = producerContext(event);
    if (!producer) continue;
    const deviceId = deviceIdOf(event.body);
    const letter = letters.get(event.sequenceNumber);
    const { span } = startSpan(
      `process ${hub}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: startedAt,
        links: batch ? [{ context: batch }] : [],
        attributes: {
          ...eventHubs(hub, partition),
          "messaging.eventhubs.message.sequence_number": event.sequenceNumber,
          "eventfleet.outcome": letter ? "dead_letter" : "stored",
          ...(deviceId ? { [ATTR.deviceId]: deviceId } : {}),
        },
      },
      trace.setSpanContext(ROOT_CONTEXT, producer),
    );
    if (letter)
      span.addEvent("dead_letter", { [ATTR.reason]: letter.reason, "eventfleet.error": letter.error });
    else span.addEvent("stored", { "db.system.name": "azure.cosmosdb" });
    span.end();
  }
}

/** A Cosmos DB call of the batch (bulk upsert of telemetry, device states) as a client span. */
export function inCosmosSpan<T>(
  operation: string,
  collection: string,
  count: number,
  work: () => Promise<T>,
) {
  if (!tracingActive()) return work();
  return inSpan(
    startSpan(
      `${operation} ${collection}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "azure.cosmosdb",
          "db.operation.name": operation,
          "db.collection.name": collection,
          "db.operation.batch.size": count,
        },
      },
      context.active(),
    ),
    work,
  );
}

/** The checkpoint after a durable batch, in the batch's trace. */
export function inCheckpointSpan<T>(
  partition: string,
  sequenceNumber: number,
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingActive()) return work();
  return inSpan(
    startSpan(
      "checkpoint",
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          "messaging.destination.partition.id": partition,
          "messaging.eventhubs.message.sequence_number": sequenceNumber,
        },
      },
      context.active(),
    ),
    work,
  );
}
