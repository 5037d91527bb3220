// Whether this process exports spans. The OpenTelemetry API is process-global by design; this flag mirrors it so
// every span helper can return at once, without allocating, when tracing is off.
import { trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { version } from "../version.ts";

let active = false;
let requestSpanLookup: (context: Context) => Span | undefined = () => undefined;

/**
 * Called by startTelemetry once its tracer provider is registered (and by its shutdown), with how to find the
 * request's server span in a context (the SDK's core module knows; it is loaded only when tracing is on).
 */
export function setTracingActive(on: boolean, requestSpanOf?: (context: Context) => Span | undefined): void {
  active = on;
  requestSpanLookup = (on && requestSpanOf) || (() => undefined);
}

/** The span of the incoming request `context` belongs to (the HTTP server span), when tracing is on. */
export function requestSpanOf(context: Context): Span | undefined {
  return active ? requestSpanLookup(context) : undefined;
}

export function tracingActive(): boolean {
  return active;
}

/** The tracer every eventfleet span comes from (instrumentation scope `eventfleet`). */
export function eventfleetTracer(): Tracer {
  return trace.getTracer("eventfleet", version);
}
