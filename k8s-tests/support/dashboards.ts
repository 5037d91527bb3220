// The PromQL queries of the Grafana dashboards shipped with the chart (panels and variable queries).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CHART_DIR } from "./chart.ts";

/** Every `expr` of the dashboards shipped with the chart. */
export function dashboardQueries(): { dashboard: string; expr: string }[] {
  const dir = join(CHART_DIR, "dashboards");
  const out: { dashboard: string; expr: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
      panels: { targets?: { expr: string }[] }[];
      templating: { list: { query?: unknown }[] };
    };
    for (const panel of dashboard.panels)
      for (const t of panel.targets ?? []) out.push({ dashboard: file, expr: t.expr });
    for (const v of dashboard.templating.list) {
      const q = v.query as { query?: string } | string | undefined;
      const text = typeof q === "string" ? q : q?.query;
      const labelValues = text?.match(/^label_values\((.+),\s*[a-zA-Z_]+\)$/);
      if (labelValues?.[1]) out.push({ dashboard: file, expr: labelValues[1] });
    }
  }
  return out;
}
