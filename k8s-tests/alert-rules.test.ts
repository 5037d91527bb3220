// The chart's PrometheusRule passes `promtool check rules` and `promtool test rules`; every alert has a case where
// it fires and one where it does not; every dashboard query parses as PromQL.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { byKind, helmMissingReason, render, type K8sObject } from "./support/chart.ts";
import { dashboardQueries } from "./support/dashboards.ts";
import { substituteGrafanaVariables } from "./support/metric-names.ts";

const run = promisify(execFile);
const skip = helmMissingReason();

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
type PrometheusRule = K8sObject & { spec: { groups: { name: string; rules: Rule[] }[] } };
interface UnitTest {
  name: string;
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

async function promtool(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run("promtool", args, { cwd });
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    assert.fail(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? String(error)}`);
  }
}

void describe("alert and recording rules", { skip }, () => {
  let dir = "";
  let groups: PrometheusRule["spec"]["groups"] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "eventfleet-rules-"));
    const rule = byKind<PrometheusRule>(await render("full"), "PrometheusRule")[0];
    assert.ok(rule, "the full profile renders a PrometheusRule");
    groups = rule.spec.groups;
    writeFileSync(join(dir, "rendered.yaml"), stringify({ groups }));
    const bare = groups.map((g) => ({ ...g, rules: g.rules.map(({ annotations: _a, ...r }) => r) }));
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: bare }));
    copyFileSync(join(import.meta.dirname, "rules/alerts.test.yaml"), join(dir, "alerts.test.yaml"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  void test("promtool check rules accepts the rendered rules (including annotation templates)", async () => {
    assert.match(await promtool(["check", "rules", "rendered.yaml"], dir), /SUCCESS: \d+ rules found/);
  });

  void test("promtool test rules passes", async () => {
    assert.match(await promtool(["test", "rules", "alerts.test.yaml"], dir), /SUCCESS/);
  });

  void test("every alert has a firing and a non-firing unit test", () => {
    const tests = (parse(readFileSync(join(dir, "alerts.test.yaml"), "utf8")) as { tests: UnitTest[] }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    const alerts = groups.flatMap((g) => g.rules).flatMap((r) => (r.alert ? [r.alert] : []));
    assert.ok(alerts.length >= 9);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} has a test where it fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} has a test where it does not fire`,
      );
    }
  });

  void test("every dashboard query parses as PromQL", async () => {
    const queries = dashboardQueries();
    assert.ok(queries.length > 20);
    // promtool has no offline query parser: each query becomes a recording rule, which `check rules` parses.
    const rules = queries.map((q, i) => ({
      record: `dashboard:query_${i}`,
      expr: substituteGrafanaVariables(q.expr),
    }));
    writeFileSync(join(dir, "dashboards.yaml"), stringify({ groups: [{ name: "dashboards", rules }] }));
    assert.match(await promtool(["check", "rules", "dashboards.yaml"], dir), /SUCCESS/);
  });
});
