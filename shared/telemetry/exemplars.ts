// Prometheus exemplars: a histogram observation made inside a sampled span remembers its trace id, so a latency
// panel in Grafana links to the trace. Exemplars appear only in the OpenMetrics exposition.
import { Registry, type Histogram } from "prom-client";
import { activeTraceIds } from "./spans.ts";
import { tracingActive } from "./tracing-state.ts";

/**
 * Spread into a Histogram's configuration: exemplars on when this process traces and the registry speaks
 * OpenMetrics (prom-client refuses exemplars on any other registry, e.g. one a test or a benchmark made itself).
 */
export function exemplarOption(registry: Registry): { enableExemplars: boolean } {
  return {
    enableExemplars:
      tracingActive() && (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE,
  };
}

/** Observes `value`, with the active span's trace_id/span_id as the exemplar when the histogram keeps them. */
export function observeWithTrace<T extends string>(
  histogram: Histogram<T>,
  labels: Partial<Record<T, string | number>>,
  value: number,
): void {
  if ((histogram as { enableExemplars?: boolean }).enableExemplars) {
    // prom-client types exemplar labels like metric labels; ours are trace_id/span_id.
    const exemplarLabels = (activeTraceIds() ?? {}) as Partial<Record<T, string>>;
    histogram.observe({ labels, value, exemplarLabels });
  } else {
    histogram.observe(labels, value);
  }
}

/**
 * With tracing on the registry speaks OpenMetrics, the only exposition format with exemplars (Prometheus and the
 * managed scrapers read it). A registry's format is fixed: prom-client renames counters when it renders them as
 * OpenMetrics, so one registry must not switch formats scrape by scrape.
 */
export function useOpenMetricsWhenTracing(registry: Registry): void {
  if (tracingActive())
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as typeof registry.contentType);
}
