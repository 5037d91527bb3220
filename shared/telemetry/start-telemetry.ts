// Starts OpenTelemetry tracing for one process: OTLP/HTTP protobuf export, parent-based ratio sampling, resource
// attributes, W3C propagation. The SDK is imported only when tracing is on, so a process without an endpoint pays
// nothing at start.
import type { Sampler } from "@opentelemetry/sdk-trace";
import { setTimeout as delay } from "node:timers/promises";
import { version } from "../version.ts";
import type { TelemetrySettings } from "./telemetry-config.ts";
import { setTracingActive } from "./tracing-state.ts";

export interface Telemetry {
  enabled: boolean;
  /** Exports what is buffered (tests call it before querying the backend). */
  forceFlush(): Promise<void>;
  /** Flushes and stops exporting; called on shutdown after the role stopped. */
  shutdown(): Promise<void>;
}

const OFF: Telemetry = { enabled: false, forceFlush: async () => {}, shutdown: async () => {} };

/** How long a batch waits before export: short, so a trace is in the backend about a second after it ends. */
const EXPORT_DELAY_MS = 1000;
/** Shutdown waits this long at most for the last export: an unreachable backend must not eat the drain budget. */
const SHUTDOWN_FLUSH_MS = 3000;

export async function startTelemetry(settings: TelemetrySettings): Promise<Telemetry> {
  if (!settings.enabled) return OFF;
  const [
    api,
    sdk,
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator, getRPCMetadata },
    resources,
    otlp,
    { EntryPointSampler },
  ] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("./entry-point-sampler.ts"),
  ]);

  const ratio = new sdk.TraceIdRatioBasedSampler(settings.ratio);
  const samplers: Record<TelemetrySettings["sampler"], () => Sampler> = {
    always_on: () => new sdk.AlwaysOnSampler(),
    always_off: () => new sdk.AlwaysOffSampler(),
    traceidratio: () => ratio,
    parentbased_always_on: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: () => new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new sdk.ParentBasedSampler({ root: ratio }),
  };
  const resource = resources.resourceFromAttributes({
    ...settings.resourceAttributes,
    "service.name": settings.serviceName,
    "service.namespace": "eventfleet",
    "service.version": version,
    "service.instance.id": settings.resourceAttributes["k8s.pod.name"] ?? `${process.pid}`,
    "eventfleet.role": settings.role,
    "process.pid": process.pid,
  });
  // The exporter reads OTEL_EXPORTER_OTLP_HEADERS / _TRACES_HEADERS (auth for a managed backend) itself.
  const exporter = new otlp.OTLPTraceExporter({ url: settings.tracesUrl });
  const provider = new sdk.TracerProvider({
    resource,
    sampler: new EntryPointSampler(samplers[settings.sampler]()),
    spanProcessors: [
      new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: EXPORT_DELAY_MS, maxQueueSize: 8192 }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  api.context.setGlobalContextManager(contextManager);
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  // The HTTP instrumentation keeps its server span in the request's context as RPC metadata (as Express's uses it).
  setTracingActive(true, (context) => getRPCMetadata(context)?.span);

  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    shutdown: () =>
      (stopped ??= (async () => {
        try {
          await Promise.race([provider.shutdown(), delay(SHUTDOWN_FLUSH_MS, undefined, { ref: false })]);
        } finally {
          setTracingActive(false);
          api.trace.disable();
          api.context.disable();
          api.propagation.disable();
        }
      })()),
  };
}
