// The chart lints strictly, renders every profile, and every rendered object is valid against the Kubernetes,
// KEDA and Prometheus Operator schemas with unknown fields rejected.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import {
  API_VERSIONS,
  CHART_DIR,
  helm,
  helmMissingReason,
  parseManifests,
  PROFILES,
  render,
  template,
} from "./support/chart.ts";
import { SUPPORTED_KINDS, validateStrict } from "./support/strict-schema.ts";

const run = promisify(execFile);
const skip = helmMissingReason();
const tmp = mkdtempSync(join(tmpdir(), "eventfleet-chart-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

void describe("helm lint --strict", { skip }, () => {
  for (const profile of PROFILES) {
    void test(`passes with the ${profile} profile`, async () => {
      // helm lint has no --api-versions, and it passes charts whose own `fail` checks fail: it only catches
      // syntax. Everything that matters is proven by rendering (`helm template`, here and in the other files).
      const { stdout } = await helm([
        "lint",
        "--strict",
        CHART_DIR,
        "-f",
        join(CHART_DIR, "ci", `${profile}.yaml`),
        "--set",
        "keda.capabilityCheck=false,monitoring.capabilityCheck=false",
      ]);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

void describe("rendered objects", { skip }, () => {
  for (const profile of PROFILES) {
    void test(`${profile}: every object is schema-valid with no unknown fields`, async () => {
      const objects = await render(profile);
      assert.ok(objects.length > 0);
      const problems = objects.flatMap((o) =>
        validateStrict(o).map((p) => `${o.kind}/${o.metadata.name}: ${p}`),
      );
      assert.deepEqual(problems, []);
    });
  }

  void test("every kind the chart can render has a schema", async () => {
    const kinds = new Set((await render("full")).map((o) => `${o.apiVersion}/${o.kind}`));
    for (const kind of kinds) assert.ok(SUPPORTED_KINDS.includes(kind), `${kind} is not validated`);
  });

  void test("a typo such as minReplicaCont in a ScaledObject is rejected", async () => {
    const scaled = structuredClone((await render("full")).find((o) => o.kind === "ScaledObject"));
    assert.ok(scaled);
    const spec = scaled.spec as Record<string, unknown>;
    spec.minReplicaCont = spec.minReplicaCount;
    delete spec.minReplicaCount;
    assert.deepEqual(validateStrict(scaled), ['spec.minReplicaCont: unknown field "minReplicaCont"']);
  });

  void test("a container `resource:` key (for resources) is rejected", async () => {
    const deployment = structuredClone((await render("minimal")).find((o) => o.kind === "Deployment"));
    assert.ok(deployment);
    const containers = (deployment.spec as { template: { spec: { containers: Record<string, unknown>[] } } })
      .template.spec.containers;
    containers[0]!.resource = containers[0]!.resources;
    assert.deepEqual(validateStrict(deployment), [
      'spec.template.spec.containers[0].resource: unknown field "resource"',
    ]);
  });

  void test("a wrong type is reported by the schema", async () => {
    const hpa = structuredClone((await render("full")).find((o) => o.kind === "HorizontalPodAutoscaler"));
    assert.ok(hpa);
    (hpa.spec as Record<string, unknown>).maxReplicas = "ten";
    const problems = validateStrict(hpa);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /maxReplicas/);
  });

  void test("rendered output and values files pass yamllint", async () => {
    const files = [join(CHART_DIR, "values.yaml"), join(CHART_DIR, "Chart.yaml"), join(CHART_DIR, "ci")];
    for (const profile of PROFILES) {
      const file = join(tmp, `${profile}.yaml`);
      writeFileSync(file, await template(profile));
      files.push(file);
    }
    const config = join(import.meta.dirname, "yamllint.yaml");
    try {
      await run("yamllint", ["--strict", "-c", config, ...files]);
    } catch (error) {
      assert.fail(`yamllint: ${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
  });

  // helm renders NOTES.txt only on install (which needs a cluster): a copy of the chart renders it into a ConfigMap.
  void test("NOTES.txt renders for every profile and tells the operator what to check", async () => {
    const chart = join(tmp, "notes-chart");
    cpSync(CHART_DIR, chart, { recursive: true });
    mkdirSync(join(chart, "notes"));
    cpSync(join(chart, "templates/NOTES.txt"), join(chart, "notes/NOTES.txt"));
    writeFileSync(
      join(chart, "templates/notes-rendered.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ tpl (.Files.Get "notes/NOTES.txt") . | indent 4 }}\n',
    );
    for (const profile of PROFILES) {
      const args = [
        "template",
        "ef",
        chart,
        "-n",
        "eventfleet",
        "-f",
        join(CHART_DIR, "ci", `${profile}.yaml`),
      ];
      for (const v of API_VERSIONS) args.push("--api-versions", v);
      const { stdout } = await helm([...args, "-s", "templates/notes-rendered.yaml"]);
      const notes = (parseManifests(stdout)[0]?.data as { notes: string }).notes;
      assert.match(notes, /kubectl -n eventfleet get deploy,pods -l app\.kubernetes\.io\/instance=ef/);
      assert.match(notes, /eventfleet infra policy/);
      if (profile !== "minimal") assert.match(notes, /get scaledobjects/);
    }
  });
});
