// One Prometheus registry per process, with default process metrics and build info; components add their own.
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { useOpenMetricsWhenTracing } from "./telemetry/exemplars.ts";
import { version } from "./version.ts";

export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  useOpenMetricsWhenTracing(registry);
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: "eventfleet_build_info",
    help: "Always 1; labels carry the version and the role of this process.",
    labelNames: ["version", "role"],
    registers: [registry],
  });
  buildInfo.set({ version, role }, 1);
  return registry;
}

/** A metric registered twice on one registry (two components in one process, as in tests) is shared. */
export function metricOnce<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Depth of a queue we consume or dead-letter into: SQS source/DLQ, or the device dead-letter Storage Queue. */
export function queueDepthGauge(registry: Registry): Gauge<"queue" | "kind"> {
  return metricOnce(
    registry,
    "eventfleet_queue_depth_messages",
    () =>
      new Gauge({
        name: "eventfleet_queue_depth_messages",
        help: "Approximate number of messages in a queue, by queue name and kind (source, dlq).",
        labelNames: ["queue", "kind"],
        registers: [registry],
      }),
  );
}
