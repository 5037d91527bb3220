// With a node that runs pods: the release rolls out and every pod of the chart is Ready with the real image, an order
// placed through the API (port-forward) reaches SHIPPED, and `helm test` passes. Skipped, with the reason, on a
// cluster without a Ready node.
//
// Local (`make k8s-test-live`): the local cluster's node (dev/cluster/node.ts) runs the image of `make image` with
// deploy/local.yaml; the emulators are reached on the pod network's gateway (the runner passes those endpoints). KEDA
// does not watch this namespace (it scales to zero; here every Deployment keeps its one replica).
// External clusters: EVENTFLEET_VALUES (comma-separated values files), EVENTFLEET_IMAGE (repository:tag),
// EVENTFLEET_API_KEY when api.authMode=apikey, and the cloud resources and identities of docs/deploy-*.md.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type AddressInfo, type Server } from "node:net";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../../test/support/wait.ts";
import { APP_IMAGE } from "../../dev/cluster/node-images.ts";
import { CHART_DIR, helmMissingReason } from "../support/chart.ts";
import {
  clients,
  installOnLocalNode,
  liveHelm,
  needsLocalNode,
  orderBody,
  testNamespace,
} from "./live-env.ts";
import { scaledObjectsReady } from "./keda-metrics.ts";

const RELEASE = "ef-flow";
const local = process.env.EVENTFLEET_LIVE === "local";
let skip: string | undefined = helmMissingReason() ?? (local ? needsLocalNode() : undefined);
/** What the chart's pods run: the local node's imported image, or EVENTFLEET_IMAGE. */
const image = local ? APP_IMAGE : (process.env.EVENTFLEET_IMAGE ?? "");
let namespace = "";
let cleanup = async () => {};
let forward: Server | undefined;

async function readyNodes(): Promise<number> {
  const nodes = await clients().core.listNode();
  return nodes.items.filter((n) =>
    n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}

before(async () => {
  if (skip) return;
  if ((await readyNodes()) === 0) {
    skip = "no Ready node in this cluster: pods cannot run (see k8s-tests/README.md)";
    return;
  }
  if (local) {
    // No --wait: the first test waits, and names each pod that does not become Ready and why.
    [namespace, cleanup] = await installOnLocalNode(RELEASE, "ef-flow");
    return;
  }
  const values = (process.env.EVENTFLEET_VALUES ?? "").split(",").filter(Boolean);
  if (values.length === 0 || !image.includes(":")) {
    skip = "set EVENTFLEET_VALUES (values files) and EVENTFLEET_IMAGE (repository:tag) to run the order flow";
    return;
  }
  [namespace, cleanup] = await testNamespace(clients().core, "ef-flow");
  const at = image.lastIndexOf(":");
  await liveHelm([
    "install",
    RELEASE,
    CHART_DIR,
    "-n",
    namespace,
    ...values.flatMap((f) => ["-f", f]),
    "--set",
    `image.repository=${image.slice(0, at)}`,
    "--set",
    `image.tag=${image.slice(at + 1)}`,
    "--wait",
    "--timeout",
    "10m",
  ]);
});
after(async () => {
  forward?.close();
  await cleanup();
});

/** A local TCP port forwarded to the API pod's 8080 (like `kubectl port-forward`). */
async function forwardApi(kc: k8s.KubeConfig, core: k8s.CoreV1Api): Promise<Server> {
  const pods = await core.listNamespacedPod({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=api`,
  });
  const pod = pods.items.find((p) => p.status?.phase === "Running")?.metadata?.name;
  assert.ok(pod, "a running API pod");
  const portForward = new k8s.PortForward(kc);
  const server = createServer((socket) => {
    portForward.portForward(namespace, pod, [8080], socket, null, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** Why a pod is not Ready yet: its containers' waiting/terminated reasons, or its Ready condition. */
function notReady(pod: k8s.V1Pod): string | undefined {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status === "True") return undefined;
  const containers = (pod.status?.containerStatuses ?? []).map((c) => {
    const last = c.lastState?.terminated;
    const state = c.state?.waiting?.reason ?? (c.state?.running ? "running, not ready" : "terminated");
    return `${c.name} ${state}${last ? ` (last exit ${last.exitCode} ${last.reason ?? ""})` : ""}`;
  });
  return `${pod.metadata?.name}: ${containers.join(", ") || ready?.message || pod.status?.phase}`;
}

test("every pod of the chart is Ready, running the release's image", { skip }, async (t) => {
  if (skip) return t.skip(skip);
  const { apps, core } = clients();
  const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
  assert.ok(
    deployments.length >= 6,
    `the chart's Deployments: ${deployments.map((d) => d.metadata?.name).join(", ")}`,
  );
  let problems: string[] = [];
  // Replicas are read each round: the API's HPA raises it to its minReplicas after the install.
  let wanted = 0;
  const pods = await waitFor(
    async () => {
      const list = (await core.listNamespacedPod({ namespace })).items.filter(
        (p) => !p.metadata?.deletionTimestamp,
      );
      wanted = (await apps.listNamespacedDeployment({ namespace })).items.reduce(
        (n, d) => n + (d.spec?.replicas ?? 1),
        0,
      );
      problems = list.map(notReady).filter((p): p is string => p !== undefined);
      if (list.length !== wanted) problems.push(`${list.length} pods for ${wanted} replicas`);
      return problems.length === 0 ? list : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 2000, description: "every pod Ready" },
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${problems.join("; ")}`, { cause: error });
  });
  assert.equal(pods.length, wanted, `one pod per replica: ${pods.map((p) => p.metadata?.name).join(", ")}`);
  for (const pod of pods) {
    for (const container of pod.status?.containerStatuses ?? []) {
      assert.ok(
        container.image.endsWith(image.replace(/^docker\.io\//, "")),
        `${pod.metadata?.name} runs ${container.image}`,
      );
      assert.ok(container.imageID, `${pod.metadata?.name}/${container.name} has an image id`);
    }
  }
});

test("an order placed through the API reaches SHIPPED, and helm test passes", { skip }, async (t) => {
  if (skip) return t.skip(skip);
  const { kc, core, custom } = clients();
  // KEDA watches the scaling tests' namespace only in the local run.
  if (!local) {
    const objects = await scaledObjectsReady(custom, namespace);
    assert.ok(
      objects.every((s) => s.ready),
      objects.map((s) => `${s.name}: ${s.message}`).join("; "),
    );
  }
  forward = await forwardApi(kc, core);
  const base = `http://127.0.0.1:${(forward.address() as AddressInfo).port}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (process.env.EVENTFLEET_API_KEY) headers["x-api-key"] = process.env.EVENTFLEET_API_KEY;
  const sku = `live-${randomUUID().slice(0, 8)}`;
  const stock = await fetch(`${base}/v1/inventory/${sku}`, {
    method: "PUT",
    headers: { ...headers, "idempotency-key": randomUUID() },
    body: JSON.stringify({ available: 10 }),
  });
  assert.ok(stock.ok, `PUT /v1/inventory: ${stock.status} ${await stock.text()}`);
  const placed = await fetch(`${base}/v1/orders`, {
    method: "POST",
    headers: { ...headers, "idempotency-key": randomUUID() },
    body: orderBody(sku),
  });
  assert.ok(placed.status === 201 || placed.status === 202, `POST /v1/orders: ${placed.status}`);
  const { id } = (await placed.json()) as { id: string };
  await waitFor(
    async () => {
      const order = (await (await fetch(`${base}/v1/orders/${id}`, { headers })).json()) as {
        status?: string;
      };
      assert.ok(order.status !== "REJECTED" && order.status !== "CANCELLED", `order ended ${order.status}`);
      return order.status === "SHIPPED";
    },
    { timeoutMs: 300_000, intervalMs: 2000, description: `order ${id} SHIPPED` },
  );
  await liveHelm(["test", RELEASE, "-n", namespace, "--timeout", "3m"]);
});
