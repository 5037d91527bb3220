// W3C trace context for follow-up events: same trace as the event that caused them, a new span.
import { randomBytes } from "node:crypto";
import { TRACEPARENT_PATTERN, newTraceparent } from "../../shared/events/cloudevent.ts";
import { followUpTraceparent } from "../../shared/telemetry/order-spans.ts";

/**
 * A child of `parent`: same version, trace id and flags, a fresh parent (span) id. With tracing on, that span is a
 * real `create orders` span (so the trace has no hole); with it off, only the id.
 */
export function childTraceparent(parent: string | undefined): string {
  if (!parent || !TRACEPARENT_PATTERN.test(parent)) return newTraceparent();
  const created = followUpTraceparent(parent);
  if (created) return created;
  const [version, traceId, , flags] = parent.split("-");
  return `${version}-${traceId}-${randomBytes(8).toString("hex")}-${flags}`;
}
