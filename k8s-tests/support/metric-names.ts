// Which metric names a PromQL expression uses, and which names exist. The known-name list is an input: today it is
// read from docs/metrics.md; EVENTFLEET_METRIC_NAMES_FILE (one name per line, e.g. scraped from a running stack's
// /metrics) replaces it without changing the tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./chart.ts";

/** Metrics of other components the rules and dashboards may use (kube-state-metrics, KEDA). */
export const EXTERNAL_METRIC_PREFIXES = [
  "kube_horizontalpodautoscaler_",
  "kube_deployment_",
  "keda_scaler_",
  "keda_scaledobject_",
];
/** prom-client's default metrics: unprefixed, listed in docs/metrics.md as a family. */
export const DEFAULT_METRIC_PREFIXES = ["process_", "nodejs_"];

const HISTOGRAM_SUFFIXES = ["_bucket", "_count", "_sum", "_created"];
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/** `eventfleet_*` names from the table in docs/metrics.md. */
export function documentedMetricNames(markdownPath = join(ROOT, "docs/metrics.md")): Set<string> {
  const names = new Set<string>();
  for (const match of readFileSync(markdownPath, "utf8").matchAll(
    /^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|/gm,
  )) {
    if (match[1]) names.add(match[1]);
  }
  return names;
}

/** Which roles export each documented name, from the "exported by" column of docs/metrics.md. */
export function documentedExporters(markdownPath = join(ROOT, "docs/metrics.md")): Map<string, string> {
  const out = new Map<string, string>();
  for (const match of readFileSync(markdownPath, "utf8").matchAll(
    /^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|.*\|\s*([^|]+?)\s*\|\s*$/gm,
  )) {
    if (match[1] && match[2]) out.set(match[1], match[2]);
  }
  return out;
}

/** Metric names a prom-client /metrics page declares (`# TYPE` lines: also the metrics with no sample yet). */
export function declaredMetricNames(exposition: string): string[] {
  return [...exposition.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /gm)].flatMap((m) =>
    m[1] ? [m[1]] : [],
  );
}

/** The names our processes export: a scraped list when EVENTFLEET_METRIC_NAMES_FILE is set, else docs/metrics.md. */
export function knownMetricNames(env: NodeJS.ProcessEnv = process.env): {
  names: Set<string>;
  source: string;
} {
  const file = env.EVENTFLEET_METRIC_NAMES_FILE;
  if (file) {
    const names = new Set(
      readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#")),
    );
    return { names, source: file };
  }
  return { names: documentedMetricNames(), source: "docs/metrics.md" };
}

/** Metric (and recorded-series) names an expression selects. Grafana variables must be substituted first. */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\b\d+(\.\d+)?([eE][+-]?\d+)?\b/g, " "); // numbers
  const names = new Set<string>();
  for (const match of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (!name || call || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** The exported name a series name comes from: histogram series map to their family. */
export function familyOf(name: string): string[] {
  const candidates = [name];
  for (const suffix of HISTOGRAM_SUFFIXES)
    if (name.endsWith(suffix)) candidates.push(name.slice(0, -suffix.length));
  return candidates;
}

export interface NameCheck {
  unknown: string[];
}

/**
 * Names in `exprs` that are neither exported by us (`known`), recorded by our own rules (`recorded`), external
 * (kube-state-metrics, KEDA) nor prom-client defaults.
 */
export function unknownMetricNames(exprs: string[], known: Set<string>, recorded: Set<string>): string[] {
  const unknown = new Set<string>();
  for (const expr of exprs) {
    for (const name of metricNamesIn(expr)) {
      if (recorded.has(name)) continue;
      if (familyOf(name).some((n) => known.has(n))) continue;
      if ([...EXTERNAL_METRIC_PREFIXES, ...DEFAULT_METRIC_PREFIXES].some((p) => name.startsWith(p))) continue;
      unknown.add(name);
    }
  }
  return [...unknown].sort();
}

/** Grafana's template variables replaced by values Prometheus accepts, so a query can be parsed. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "5m")
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, "eventfleet");
}
