// Tracing configuration from the OpenTelemetry SDK's own OTEL_* variables: off unless an OTLP endpoint is set.
import { z } from "zod";
import { envVar, parseEnv, schemas, type EnvSpec } from "../config.ts";

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

const ratio = z.coerce.number().min(0).max(1);

/** The subset of the OpenTelemetry SDK variables eventfleet reads (the exporter reads its own headers). */
export const telemetryEnv = {
  OTEL_EXPORTER_OTLP_ENDPOINT: envVar(schemas.url().optional(), {
    expects: "an http(s) URL of an OTLP/HTTP receiver, such as http://otel-collector:4318",
    description:
      "Where spans go (OTLP over HTTP/protobuf, `/v1/traces` is appended). Unset: tracing is off and the SDK is not loaded.",
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: envVar(schemas.url().optional(), {
    expects:
      "the full http(s) URL of an OTLP/HTTP traces receiver, such as http://otel-collector:4318/v1/traces",
    description: "Traces endpoint used as is (overrides OTEL_EXPORTER_OTLP_ENDPOINT for traces).",
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: envVar(z.literal("http/protobuf"), {
    expects: "http/protobuf (the only OTLP protocol eventfleet ships; use a Collector to convert)",
    description: "OTLP transport.",
    default: "http/protobuf",
  }),
  OTEL_EXPORTER_OTLP_HEADERS: envVar(
    z
      .string()
      .regex(/^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$/)
      .optional(),
    {
      expects: "key=value pairs separated by commas, such as api-key=...",
      description:
        "Headers sent with every export (a managed backend's key); read by the exporter. Keep it in a Secret.",
      secret: true,
    },
  ),
  OTEL_TRACES_EXPORTER: envVar(z.enum(["otlp", "none"]), {
    expects: "otlp or none",
    description: "`none` turns tracing off even when an endpoint is set.",
    default: "otlp",
  }),
  OTEL_SDK_DISABLED: envVar(schemas.boolean, {
    expects: "true or false",
    description: "`true` turns tracing off.",
    default: "false",
  }),
  OTEL_TRACES_SAMPLER: envVar(z.enum(SAMPLERS), {
    expects: `one of ${SAMPLERS.join(", ")}`,
    description:
      "Sampler. Parent-based samplers follow the caller's decision (the traceparent's sampled flag), so a trace is kept or dropped whole.",
    default: "parentbased_traceidratio",
  }),
  OTEL_TRACES_SAMPLER_ARG: envVar(ratio, {
    expects: "a ratio between 0 and 1, such as 0.1",
    description: "Share of new traces sampled by the ratio samplers.",
    default: "1",
  }),
  OTEL_SERVICE_NAME: envVar(z.string().min(1).optional(), {
    expects: "a service name",
    description: "service.name of the spans; defaults to `eventfleet-<role>`.",
  }),
  OTEL_RESOURCE_ATTRIBUTES: envVar(z.string().optional(), {
    expects: "key=value pairs separated by commas, such as deployment.environment.name=prod",
    description: "Extra resource attributes on every span.",
  }),
  K8S_POD_NAME: envVar(z.string().min(1).optional(), {
    expects: "the pod's name (the chart sets it from the downward API)",
    description: "k8s.pod.name and service.instance.id of the spans.",
  }),
  K8S_NAMESPACE_NAME: envVar(z.string().min(1).optional(), {
    expects: "the pod's namespace (the chart sets it from the downward API)",
    description: "k8s.namespace.name of the spans.",
  }),
} satisfies EnvSpec;

export interface TelemetrySettings {
  /** False: no SDK is loaded and every span helper is a no-op. */
  enabled: boolean;
  /** Full URL spans are POSTed to. */
  tracesUrl: string;
  sampler: SamplerName;
  ratio: number;
  serviceName: string;
  role: string;
  /** Parsed OTEL_RESOURCE_ATTRIBUTES plus the Kubernetes ones. */
  resourceAttributes: Record<string, string>;
}

/** `a=b,c=d` with percent-encoded values, as the OpenTelemetry specification defines it. */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    const raw = pair.slice(at + 1).trim();
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // A stray % is kept as written.
    }
    if (key) out[key] = value;
  }
  return out;
}

/**
 * Whether the environment asks for tracing (an endpoint is set and nothing turns it off), read before anything is
 * validated: bin/eventfleet.js asks it to decide whether to load the instrumentations at all.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const set = (name: string) => (env[name] ?? "") !== "";
  return (
    (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) &&
    !["true", "1"].includes(env.OTEL_SDK_DISABLED ?? "") &&
    (env.OTEL_TRACES_EXPORTER ?? "otlp") !== "none"
  );
}

/** Reads the OTEL_* variables; throws a ConfigError naming a wrong one. */
export function telemetrySettings(role: string, env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  const c = parseEnv(telemetryEnv, env);
  const tracesUrl =
    c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (c.OTEL_EXPORTER_OTLP_ENDPOINT ? `${c.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces` : "");
  const resourceAttributes = parseResourceAttributes(c.OTEL_RESOURCE_ATTRIBUTES);
  if (c.K8S_POD_NAME) resourceAttributes["k8s.pod.name"] = c.K8S_POD_NAME;
  if (c.K8S_NAMESPACE_NAME) resourceAttributes["k8s.namespace.name"] = c.K8S_NAMESPACE_NAME;
  return {
    enabled: tracingRequested(env),
    tracesUrl,
    sampler: c.OTEL_TRACES_SAMPLER,
    ratio: c.OTEL_TRACES_SAMPLER_ARG,
    serviceName: c.OTEL_SERVICE_NAME ?? `eventfleet-${role}`,
    role,
    resourceAttributes,
  };
}
