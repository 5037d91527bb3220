// Dashboards and alert rules use only metric names our processes export. The known names come from
// docs/metrics.md today; set EVENTFLEET_METRIC_NAMES_FILE to a list scraped from a running stack to check against
// what the code really exports (see support/metric-names.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { byKind, helmMissingReason, render, type K8sObject } from "./support/chart.ts";
import { dashboardQueries } from "./support/dashboards.ts";
import { knownMetricNames, metricNamesIn, unknownMetricNames } from "./support/metric-names.ts";

type PrometheusRule = K8sObject & {
  spec: { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
};

async function ruleExpressions(): Promise<{ exprs: string[]; recorded: Set<string> }> {
  const rules = byKind<PrometheusRule>(await render("full"), "PrometheusRule").flatMap((r) =>
    r.spec.groups.flatMap((g) => g.rules),
  );
  return {
    exprs: rules.map((r) => r.expr),
    recorded: new Set(rules.flatMap((r) => (r.record ? [r.record] : []))),
  };
}

void describe("metric names in dashboards and rules", { skip: helmMissingReason() }, () => {
  const { names: known, source } = knownMetricNames();

  void test(`alert and recording rules use only exported names (${source})`, async () => {
    const { exprs, recorded } = await ruleExpressions();
    assert.deepEqual(unknownMetricNames(exprs, known, recorded), []);
  });

  void test(`dashboards use only exported names (${source})`, async () => {
    const { recorded } = await ruleExpressions();
    const exprs = dashboardQueries().map((q) => q.expr);
    assert.deepEqual(unknownMetricNames(exprs, known, recorded), []);
  });

  void test("every exported eventfleet_ metric appears on some dashboard", () => {
    const used = new Set(dashboardQueries().flatMap((q) => metricNamesIn(q.expr)));
    const base = (n: string) => n.replace(/_(bucket|count|sum)$/, "");
    const missing = [...known].filter(
      (n) => n.startsWith("eventfleet_") && ![...used].some((u) => base(u) === n),
    );
    assert.deepEqual(missing, []);
  });

  void test("a name that is not exported is reported (the check can fail)", () => {
    const exprs = ['sum(rate(eventfleet_orders_placed_total{namespace="x"}[5m])) / eventfleet:known:rate5m'];
    assert.deepEqual(unknownMetricNames(exprs, known, new Set(["eventfleet:known:rate5m"])), [
      "eventfleet_orders_placed_total",
    ]);
  });

  void test("histogram series map to their family; functions, keywords and labels are not names", () => {
    assert.deepEqual(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(eventfleet_http_request_duration_seconds_bucket{route="/x"}[5m]))) > on (namespace) group_left up',
      ),
      ["eventfleet_http_request_duration_seconds_bucket", "up"],
    );
    assert.deepEqual(unknownMetricNames(["eventfleet_handler_duration_seconds_count"], known, new Set()), []);
  });
});
