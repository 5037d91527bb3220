// A real Prometheus (apt) scrapes the roles running against the emulator stack and evaluates every dashboard
// query and every recording/alert rule of the chart: none may error. The roles' /metrics pages also give the list
// of names the code really exports, which the dashboards and rules must stay within.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { freePort } from "../test/support/ports.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { byKind, helmMissingReason, NAMESPACE, render, ROOT, type K8sObject } from "./support/chart.ts";
import { dashboardQueries } from "./support/dashboards.ts";
import {
  declaredMetricNames,
  documentedExporters,
  substituteGrafanaVariables,
  unknownMetricNames,
} from "./support/metric-names.ts";

type PrometheusRule = K8sObject & {
  spec: { groups: { name: string; rules: { record?: string; expr: string }[] }[] };
};
interface Role {
  name: string;
  args: string[];
  port: number;
  process?: ChildProcess;
  stderr: string;
}
interface QueryResponse {
  status: string;
  error?: string;
  data?: { result?: unknown[]; groups?: { rules: { name: string; health: string; lastError?: string }[] }[] };
}

function skipReason(): string | undefined {
  const version = spawnSync("prometheus", ["--version"], { stdio: "ignore" });
  if (version.error || version.status !== 0) return "prometheus is not installed: run 'make system-deps'";
  return helmMissingReason();
}

void describe("dashboards and rules on a real Prometheus scraping the roles", { skip: skipReason() }, () => {
  const dir = mkdtempSync(join(tmpdir(), "eventfleet-prometheus-"));
  const roles: Role[] = [];
  let prometheus: ChildProcess | undefined;
  let base = "";

  const query = async (expr: string): Promise<QueryResponse> => {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await res.json()) as QueryResponse;
  };

  before(async () => {
    // device-ingest only on request: its epoch receivers would take partitions of the shared hub away from
    // device-ingest tests running at the same time. Its names then come from docs/metrics.md (see the last test).
    const withHub = process.env.EVENTFLEET_PROMETHEUS_DEVICE_INGEST === "1";
    const env = await createTestEnv({ aws: true, azure: withHub });
    const wanted: [string, string[]][] = [
      ["api", ["api"]],
      ["inventory", ["worker", "inventory"]],
      ["shipment", ["worker", "shipment"]],
      ["notification", ["worker", "notification"]],
      ...(withHub ? ([["device-ingest", ["worker", "device-ingest"]]] as [string, string[]][]) : []),
    ];
    for (const [name, args] of wanted) {
      const role: Role = { name, args, port: await freePort(), stderr: "" };
      const child = spawn(process.execPath, [join(ROOT, "bin/eventfleet.js"), ...args], {
        cwd: ROOT,
        env: {
          ...env,
          PATH: process.env.PATH,
          MANAGEMENT_PORT: String(role.port),
          API_PORT: String(await freePort()),
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr?.on(
        "data",
        (chunk: Buffer) => (role.stderr = (role.stderr + chunk.toString()).slice(-4000)),
      );
      role.process = child;
      roles.push(role);
    }
    for (const role of roles) {
      await waitFor(
        async () => {
          if (role.process?.exitCode !== null) throw new Error(`${role.name} exited: ${role.stderr}`);
          return (await fetch(`http://127.0.0.1:${role.port}/metrics`).catch(() => undefined))?.ok;
        },
        { timeoutMs: 60_000, intervalMs: 200, description: `${role.name} serves /metrics` },
      );
    }

    const rule = byKind<PrometheusRule>(await render("full"), "PrometheusRule")[0];
    assert.ok(rule);
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: rule.spec.groups }));
    writeFileSync(
      join(dir, "prometheus.yml"),
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: ["rules.yaml"],
        scrape_configs: roles.map((r) => ({
          job_name: r.name,
          static_configs: [
            { targets: [`127.0.0.1:${r.port}`], labels: { namespace: NAMESPACE, pod: `${r.name}-0` } },
          ],
        })),
      }),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { cwd: dir, stdio: "ignore" },
    );
    // Enough samples for rate() over the queries' windows: every target scraped at least five times.
    await waitFor(
      async () => {
        const r = await query("min(count_over_time(up[1m])) >= 5 and count(up == 1) == " + roles.length);
        return r.status === "success" && (r.data?.result?.length ?? 0) > 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "Prometheus scraped every role five times" },
    );
  });

  after(async () => {
    const children = [prometheus, ...roles.map((r) => r.process)].filter((c): c is ChildProcess =>
      Boolean(c),
    );
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.all(
      children.map((c) =>
        c.exitCode === null ? new Promise((resolve) => c.once("exit", resolve)) : Promise.resolve(),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  void test("every dashboard query evaluates without error", async () => {
    const failures: string[] = [];
    for (const q of dashboardQueries()) {
      const expr = substituteGrafanaVariables(q.expr).replaceAll(
        'namespace="eventfleet"',
        `namespace="${NAMESPACE}"`,
      );
      const r = await query(expr);
      if (r.status !== "success") failures.push(`${q.dashboard}: ${q.expr}: ${r.error ?? r.status}`);
    }
    assert.deepEqual(failures, []);
  });

  void test("every recording and alert rule evaluates healthy", async () => {
    const rules = await waitFor(
      async () => {
        const r = (await (await fetch(`${base}/api/v1/rules`)).json()) as QueryResponse;
        const all = (r.data?.groups ?? []).flatMap((g) => g.rules);
        return all.length > 0 && all.every((rule) => rule.health !== "unknown") ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: "every rule evaluated once" },
    );
    assert.deepEqual(
      rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError ?? r.health}`),
      [],
    );
  });

  void test("dashboards and rules use only names the running roles declare on /metrics", async () => {
    const declared = new Set<string>();
    for (const role of roles) {
      const text = await (await fetch(`http://127.0.0.1:${role.port}/metrics`)).text();
      for (const name of declaredMetricNames(text)) declared.add(name);
    }
    // Names of roles that could not run here (device-ingest without an Event Hubs emulator) are taken from the docs.
    const running = new Set(roles.map((r) => r.name));
    for (const [name, exporters] of documentedExporters()) {
      if (
        exporters.includes("device-ingest") &&
        !running.has("device-ingest") &&
        !/SQS workers/.test(exporters)
      ) {
        declared.add(name);
      }
    }
    const rule = byKind<PrometheusRule>(await render("full"), "PrometheusRule")[0]!;
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
    const exprs = [...rules.map((r) => r.expr), ...dashboardQueries().map((q) => q.expr)];
    assert.deepEqual(unknownMetricNames(exprs, declared, recorded), []);
  });
});
