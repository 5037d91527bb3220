// The outbox stream entry, the contract between the scripts that write it (lua/outbox-events.lua) and the relay:
// fields `event` (the CloudEvent JSON, published unchanged), `type` and `traceparent` (SNS attributes), `eventId`.
import type { CloudEventEnvelope } from "../events/cloudevent.ts";

/** A CloudEvent to append to the outbox; its JSON is published unchanged as the SNS message. */
export type OutboxEvent = CloudEventEnvelope;

/** One outbox entry as the relay reads it. */
export interface OutboxEntry {
  streamId: string;
  event: string;
  type: string;
  /** "" when the event has none. */
  traceparent: string;
  eventId: string;
}

/**
 * The 5 script arguments of one event (lua/outbox-events.lua readEvents): JSON, type, traceparent, event id, and
 * "1" to have the script stamp the order version in as `orderversion` (only when the event has none yet).
 */
export function outboxEventArgs(event: OutboxEvent, json = JSON.stringify(event)): string[] {
  return [json, event.type, event.traceparent ?? "", event.id, event.orderversion === undefined ? "1" : "0"];
}

/** Arguments of events that must go out exactly as given (no version stamped in). */
export function unversionedOutboxEventArgs(event: OutboxEvent): string[] {
  return [JSON.stringify(event), event.type, event.traceparent ?? "", event.id, "0"];
}

/** An entry as XREADGROUP/XRANGE return it; `malformed` when it lacks the event or its type. */
export function parseOutboxEntry(
  streamId: string,
  fields: readonly string[] | null,
): OutboxEntry | { streamId: string; malformed: true } {
  const map: Record<string, string> = {};
  for (let i = 0; fields && i + 1 < fields.length; i += 2) map[fields[i]!] = fields[i + 1]!;
  if (!map.event || !map.type) return { streamId, malformed: true };
  return {
    streamId,
    event: map.event,
    type: map.type,
    traceparent: map.traceparent ?? "",
    eventId: map.eventId ?? "",
  };
}
