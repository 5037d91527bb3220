// With a node that runs pods: the release rolls out, every ScaledObject is Ready, an order placed through the API
// (port-forward) reaches SHIPPED, and `helm test` passes. Skipped, with the reason, on a cluster without a Ready
// node (the local cluster has none: k8s-tests/README.md says why).
//
// Needs (external clusters): EVENTFLEET_VALUES (comma-separated values files), EVENTFLEET_IMAGE (repository:tag),
// EVENTFLEET_API_KEY when api.authMode=apikey, and the cloud resources and identities of docs/deploy-*.md.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type AddressInfo, type Server } from "node:net";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../../test/support/wait.ts";
import { CHART_DIR, helmMissingReason } from "../support/chart.ts";
import { clients, liveHelm, testNamespace } from "./live-env.ts";
import { scaledObjectsReady } from "./keda-metrics.ts";

const RELEASE = "ef-flow";
let skip: string | undefined = helmMissingReason();
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
    skip =
      "no Ready node in this cluster: pods cannot run (the local cluster has no node; see k8s-tests/README.md)";
    return;
  }
  const values = (process.env.EVENTFLEET_VALUES ?? "").split(",").filter(Boolean);
  const image = process.env.EVENTFLEET_IMAGE ?? "";
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

test("an order placed through the API reaches SHIPPED, and helm test passes", { skip }, async (t) => {
  if (skip) return t.skip(skip);
  const { kc, core, custom } = clients();
  const objects = await scaledObjectsReady(custom, namespace);
  assert.ok(
    objects.every((s) => s.ready),
    objects.map((s) => `${s.name}: ${s.message}`).join("; "),
  );
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
    body: JSON.stringify({
      customerId: "k8s-test-live",
      items: [{ sku, quantity: 1, unitPriceCents: 1999 }],
      currency: "EUR",
      shippingAddress: {
        name: "Live Test",
        line1: "1 Main St",
        city: "Berlin",
        postalCode: "10115",
        country: "DE",
      },
      contact: { email: "live-test@example.com" },
    }),
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
