// Every profile of helm/eventfleet/ci/ installs on a real API server with the KEDA and Prometheus Operator CRDs:
// every object is accepted, with no unknown-field warnings; helm upgrade and helm rollback change what runs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { CHART_DIR, helm, helmMissingReason, PROFILES, type K8sObject } from "../support/chart.ts";
import { clients, helmLocal, liveHelm, testNamespace } from "./live-env.ts";

const skip = helmMissingReason() ?? (process.env.KUBECONFIG ? undefined : "KUBECONFIG is not set");
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

/** Where the guides install kube-prometheus-stack: Grafana's dashboard ConfigMaps may go there. */
before(async () => {
  if (skip) return;
  await clients()
    .core.createNamespace({ body: { metadata: { name: "monitoring" } } })
    .catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
    });
});

for (const profile of PROFILES) {
  test(
    `ci/${profile}.yaml: helm install is accepted by the API server, every rendered object exists`,
    { skip },
    async () => {
      const { core, kc } = clients();
      const [namespace, cleanup] = await testNamespace(core, `ef-${profile}`);
      // Uninstall first: objects outside the release namespace (dashboards in "monitoring") go with the release.
      cleanups.push(async () => {
        await liveHelm(["uninstall", "ef", "-n", namespace, "--wait"]).catch(() => undefined);
        await cleanup();
      });
      const { stderr } = await helm([
        "install",
        "ef",
        CHART_DIR,
        "-n",
        namespace,
        "-f",
        join(CHART_DIR, "ci", `${profile}.yaml`),
      ]);
      // The API server warns (and helm prints) about fields it does not know: none may appear.
      assert.doesNotMatch(stderr, /unknown field|duplicate field/i, stderr);
      const manifest = await liveHelm(["get", "manifest", "ef", "-n", namespace]);
      const objects = parseAllDocuments(manifest)
        .map((d) => d.toJS() as K8sObject | null)
        .filter((o): o is K8sObject => o !== null);
      assert.ok(objects.length > 3, `rendered objects: ${objects.length}`);
      const client = k8s.KubernetesObjectApi.makeApiClient(kc);
      for (const o of objects) {
        const namespaced = !o.kind.startsWith("Cluster");
        await client.read({
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: {
            name: o.metadata.name,
            namespace: namespaced ? (o.metadata.namespace ?? namespace) : undefined,
          },
        });
      }
    },
  );
}

test(
  "helm upgrade changes the Deployments and helm rollback restores them (revisions 1 → 2 → 3)",
  { skip },
  async () => {
    const { core, apps } = clients();
    const [namespace, cleanup] = await testNamespace(core, "ef-upgrade");
    cleanups.push(cleanup);
    const logLevel = async () => {
      const list = await apps.listNamespacedDeployment({ namespace });
      const levels = list.items.map(
        (d) => d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === "LOG_LEVEL")?.value,
      );
      return [...new Set(levels)].join(",");
    };
    await helmLocal("install", "ef", namespace);
    assert.equal(await logLevel(), "info");
    await helmLocal("upgrade", "ef", namespace, ["--set", "logLevel=debug"]);
    assert.equal(await logLevel(), "debug");
    await liveHelm(["rollback", "ef", "1", "-n", namespace]);
    assert.equal(await logLevel(), "info");
    const history = JSON.parse(await liveHelm(["history", "ef", "-n", namespace, "-o", "json"])) as {
      revision: number;
      status: string;
    }[];
    assert.deepEqual(
      history.map((h) => [h.revision, h.status]),
      [
        [1, "superseded"],
        [2, "superseded"],
        [3, "deployed"],
      ],
    );
  },
);
