// The chart on a real API server that lacks the KEDA and Prometheus Operator APIs: it stops with its own message
// naming what to install, and creates nothing. Run by k8s-tests/live/run.ts before KEDA is installed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { helmMissingReason } from "../support/chart.ts";
import { clients, helmLocal, needsLocalCluster, testNamespace } from "./live-env.ts";

const skip = needsLocalCluster() ?? helmMissingReason();
let namespace = "";
let cleanup = async () => {};

before(async () => {
  if (skip) return;
  [namespace, cleanup] = await testNamespace(clients().core, "ef-nokeda");
});
after(() => cleanup());

async function apiServed(group: string): Promise<boolean> {
  const groups = await clients().kc.makeApiClient(k8s.ApisApi).getAPIVersions();
  return groups.groups.some((g) => g.name === group);
}

test(
  "without KEDA's API, helm install fails with the chart's message naming KEDA and creates nothing",
  { skip },
  async () => {
    assert.equal(await apiServed("keda.sh"), false, "this phase needs a cluster without keda.sh");
    await assert.rejects(
      helmLocal("install", "ef", namespace),
      /keda\.enabled=true but the cluster has no keda\.sh\/v1alpha1 ScaledObject API: install KEDA first/,
    );
    const deployments = await clients().apps.listNamespacedDeployment({ namespace });
    assert.deepEqual(
      deployments.items.map((d) => d.metadata?.name),
      [],
    );
  },
);

test(
  "without the Prometheus Operator's API, monitoring objects fail the install with the chart's message",
  { skip },
  async () => {
    assert.equal(await apiServed("monitoring.coreos.com"), false);
    await assert.rejects(
      helmLocal("install", "ef", namespace, [
        "--set",
        "keda.enabled=false",
        "--set",
        "monitoring.serviceMonitor.enabled=true",
      ]),
      /monitoring objects enabled but the cluster has no monitoring\.coreos\.com\/v1 API/,
    );
  },
);

test(
  "without KEDA, keda.enabled=false installs: the API server accepts every object of deploy/local.yaml",
  { skip },
  async () => {
    await helmLocal("install", "ef-fixed", namespace, ["--set", "keda.enabled=false"]);
    const deployments = await clients().apps.listNamespacedDeployment({ namespace });
    assert.ok(
      deployments.items.length >= 4,
      `deployments: ${deployments.items.map((d) => d.metadata?.name).join(", ")}`,
    );
  },
);
