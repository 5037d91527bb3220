// Small span helpers for our own hops; every one returns at once when tracing is off.
import {
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
} from "@opentelemetry/api";
import { errorMessage } from "../errors.ts";
import { traceparentOf } from "./trace-context.ts";
import { eventfleetTracer, requestSpanOf, tracingActive } from "./tracing-state.ts";

/** Marks a root span that may start a trace (see entry-point-sampler.ts); background polls do not carry it. */
export const ENTRY_POINT = "eventfleet.entry_point";

/** A started span with the context to run its work in. */
export interface OpenSpan {
  readonly span: Span;
  readonly context: Context;
  /** The W3C traceparent naming this span: what goes on the messages it produces. */
  readonly traceparent: string;
}

export function startSpan(name: string, options: SpanOptions, parent: Context): OpenSpan {
  const span = eventfleetTracer().startSpan(name, options, parent);
  return { span, context: trace.setSpan(parent, span), traceparent: traceparentOf(span) };
}

/** Marks the span failed with the error's message (and keeps the exception as an event). */
export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(errorMessage(error)));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
}

/** Runs `work` inside `open` (when there is one) and ends the span when it settles; errors fail the span. */
export async function inSpan<T>(open: OpenSpan | undefined, work: () => Promise<T>): Promise<T> {
  if (!open) return work();
  try {
    return await context.with(open.context, work);
  } catch (error) {
    failSpan(open.span, error);
    throw error;
  } finally {
    open.span.end();
  }
}

/** The active span's traceparent, or undefined when tracing is off or nothing is active. */
export function activeTraceparent(): string | undefined {
  if (!tracingActive()) return undefined;
  const span = trace.getActiveSpan();
  return span ? traceparentOf(span) : undefined;
}

/** Adds attributes to the active span (e.g. the order id once the event is parsed). */
export function annotateActiveSpan(attributes: Attributes): void {
  if (tracingActive()) trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Adds attributes to the incoming request's own span (the HTTP server span, root of the trace), from anywhere the
 * request runs: a handler's active span is a child of it (Express's request handler span).
 */
export function annotateRequestSpan(attributes: Attributes): void {
  if (tracingActive()) requestSpanOf(context.active())?.setAttributes(attributes);
}

/** A span event on the active span: a retry, a dead letter, a duplicate, with its reason. */
export function recordSpanEvent(name: string, attributes: Attributes): void {
  if (tracingActive()) trace.getActiveSpan()?.addEvent(name, attributes);
}

/** trace_id/span_id of the active, sampled span: for log lines and metric exemplars. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!tracingActive()) return undefined;
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
