// Whether this process exports spans. The OpenTelemetry API is process-global by design; this flag mirrors it so
// every span helper can return at once, without allocating, when tracing is off.
import { trace, type Tracer } from "@opentelemetry/api";
import { version } from "../version.ts";

let active = false;

/** Called by startTelemetry once its tracer provider is registered (and by its shutdown). */
export function setTracingActive(on: boolean): void {
  active = on;
}

export function tracingActive(): boolean {
  return active;
}

/** The tracer every eventfleet span comes from (instrumentation scope `eventfleet`). */
export function eventfleetTracer(): Tracer {
  return trace.getTracer("eventfleet", version);
}
