// The chart's Grafana dashboards from several releases in one Grafana: each release's dashboards keep their own
// uid, title, sidecar file name and ConfigMap, so no release overwrites another's.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  API_VERSIONS,
  byKind,
  CHART_DIR,
  helm,
  helmMissingReason,
  parseManifests,
  template,
  type K8sObject,
  type Release,
} from "./support/chart.ts";

/** Grafana refuses a dashboard uid longer than this. */
const GRAFANA_UID_MAX = 40;

interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  links: { type: string; tags?: string[] }[];
}
interface Rendered {
  configMap: K8sObject & { data: Record<string, string> };
  key: string;
  dashboard: Dashboard;
}

/** Every dashboard a release renders, with dashboards in the one namespace a shared Grafana sidecar watches. */
async function dashboardsOf(release: Release): Promise<Rendered[]> {
  const objects = parseManifests(
    await template(
      "full",
      ["monitoring.grafanaDashboards.enabled=true", "monitoring.grafanaDashboards.namespace=monitoring"],
      [],
      release,
    ),
  );
  return byKind<Rendered["configMap"]>(objects, "ConfigMap")
    .filter((cm) => cm.metadata.labels?.grafana_dashboard === "1")
    .flatMap((configMap) =>
      Object.entries(configMap.data).map(([key, json]) => ({
        configMap,
        key,
        dashboard: JSON.parse(json) as Dashboard,
      })),
    );
}

const RELEASES: Release[] = [
  { name: "ef", namespace: "eventfleet" },
  { name: "ef-canary", namespace: "eventfleet" },
  { name: "ef", namespace: "eventfleet-staging" },
  { name: "x".repeat(53), namespace: "y".repeat(63) },
];

void describe("chart dashboards: several releases in one Grafana", { skip: helmMissingReason() }, () => {
  const rendered = Promise.all(RELEASES.map(dashboardsOf));

  void test("every release renders its dashboards", async () => {
    for (const [i, dashboards] of (await rendered).entries())
      assert.equal(dashboards.length, 3, `${RELEASES[i]!.namespace}/${RELEASES[i]!.name}`);
  });

  void test(`uids are distinct across releases and at most ${GRAFANA_UID_MAX} characters`, async () => {
    const all = (await rendered).flat();
    for (const { dashboard } of all) {
      assert.ok(
        dashboard.uid.length <= GRAFANA_UID_MAX,
        `uid ${dashboard.uid} is ${dashboard.uid.length} long`,
      );
      assert.match(dashboard.uid, /^[a-zA-Z0-9_-]+$/, "a uid Grafana accepts in a URL");
    }
    assert.equal(
      new Set(all.map((d) => d.dashboard.uid)).size,
      all.length,
      all.map((d) => d.dashboard.uid).join(" "),
    );
  });

  void test("uids are stable: the same release renders the same uids", async () => {
    const again = await dashboardsOf(RELEASES[0]!);
    assert.deepEqual(
      again.map((d) => d.dashboard.uid),
      (await rendered)[0]!.map((d) => d.dashboard.uid),
    );
  });

  void test("titles are distinct across releases (Grafana matches a provisioned dashboard by folder and title)", async () => {
    const all = (await rendered).flat();
    assert.equal(new Set(all.map((d) => d.dashboard.title)).size, all.length);
    for (const { dashboard } of (await rendered)[0]!) assert.match(dashboard.title, /^eventfleet \/ .+ef/);
  });

  void test("sidecar file names (ConfigMap keys) and ConfigMap names are distinct in the shared namespace", async () => {
    const all = (await rendered).flat();
    assert.equal(
      new Set(all.map((d) => d.key)).size,
      all.length,
      "the sidecar writes every key into one folder",
    );
    const names = new Set(all.map((d) => `${d.configMap.metadata.namespace}/${d.configMap.metadata.name}`));
    assert.equal(names.size, all.length);
    for (const { configMap } of all) {
      assert.equal(configMap.metadata.namespace, "monitoring");
      assert.ok(configMap.metadata.name.length <= 63, configMap.metadata.name);
    }
  });

  void test("each rendered dashboard is its file apart from uid, title, the release tag and links", async () => {
    const dir = join(CHART_DIR, "dashboards");
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Dashboard);
    for (const { dashboard } of (await rendered)[1]!) {
      const file = files.find((f) => dashboard.uid.startsWith(`${f.uid}-`));
      assert.ok(file, `no dashboard file whose uid starts ${dashboard.uid}`);
      assert.equal(dashboard.title, `${file.title} (ef-canary in eventfleet)`);
      assert.deepEqual(dashboard.tags, [...file.tags, "eventfleet/ef-canary"]);
      const strip = (d: Dashboard): Partial<Dashboard> => ({ ...d, uid: "", title: "", tags: [], links: [] });
      assert.deepEqual(strip(dashboard), strip(file));
    }
  });

  void test("links between dashboards stay within the release", async () => {
    for (const dashboards of await rendered) {
      const releaseTags = dashboards.map((d) => d.dashboard.tags.filter((t) => t !== "eventfleet"));
      for (const { dashboard } of dashboards) {
        const links = dashboard.links.filter((l) => l.type === "dashboards");
        assert.ok(links.length > 0, `${dashboard.title} links to the other dashboards`);
        for (const link of links) {
          // A tag link lists the dashboards carrying every tag of the link: all of this release's, none of another's.
          const targets = dashboards.filter((d) => link.tags!.every((t) => d.dashboard.tags.includes(t)));
          assert.equal(targets.length, dashboards.length, `${dashboard.title}: ${link.tags!.join(",")}`);
          const others = (await rendered).flat().filter((d) => !dashboards.includes(d));
          assert.ok(
            !others.some((d) => link.tags!.every((t) => d.dashboard.tags.includes(t))),
            `${dashboard.title} links to another release's dashboards (${link.tags!.join(",")}); ${releaseTags.join("|")}`,
          );
        }
      }
    }
  });

  void test("a dashboard file whose uid leaves no room for the release hash is refused, naming the file", async () => {
    const chart = mkdtempSync(join(tmpdir(), "ef-chart-"));
    try {
      cpSync(CHART_DIR, chart, { recursive: true });
      const dashboard = { uid: "u".repeat(28), title: "t", tags: ["eventfleet"], links: [], panels: [] };
      writeFileSync(join(chart, "dashboards", "too-long.json"), JSON.stringify(dashboard));
      const args = [
        "template",
        "ef",
        chart,
        "--namespace",
        "eventfleet",
        "-f",
        join(chart, "ci", "full.yaml"),
      ];
      for (const v of API_VERSIONS) args.push("--api-versions", v);
      await assert.rejects(
        helm([...args, "--set", "monitoring.grafanaDashboards.enabled=true"]),
        (error: { stderr?: string }) =>
          /dashboards\/too-long\.json: uid "u{28}" is longer than Grafana's 40 characters/.test(
            error.stderr ?? "",
          ),
      );
    } finally {
      rmSync(chart, { recursive: true, force: true });
    }
  });
});
