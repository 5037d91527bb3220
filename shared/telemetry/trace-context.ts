// W3C traceparent strings ↔ OpenTelemetry contexts, without a registered propagator (works with tracing off).
import {
  ROOT_CONTEXT,
  TraceFlags,
  trace,
  type Context,
  type Span,
  type SpanContext,
} from "@opentelemetry/api";
import { TRACEPARENT_PATTERN } from "../events/cloudevent.ts";

/** The remote span context a traceparent names, or undefined for a missing or malformed one. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  if (!traceparent || !TRACEPARENT_PATTERN.test(traceparent)) return undefined;
  const [, traceId, spanId, flags] = traceparent.split("-") as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** A context whose parent is the span a traceparent names (or `base` unchanged when there is none). */
export function contextOf(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  const spanContext = spanContextOf(traceparent);
  return spanContext ? trace.setSpanContext(base, spanContext) : base;
}

export function traceparentOf(span: Span | SpanContext): string {
  const sc = "spanContext" in span ? span.spanContext() : span;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0")}`;
}
