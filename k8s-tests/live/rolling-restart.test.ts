// With the local node: a rolling restart of every Deployment of deploy/local.yaml (what `kubectl rollout restart`
// does) while orders stream in through the API Service and device events into the hub loses nothing and doubles
// nothing: every accepted order reaches SHIPPED, the SKU's stock falls by exactly the number of orders (a
// redelivered reservation taken twice would show), and Cosmos holds each device event exactly once. Then
// device-ingest is scaled out and back in (partition ownership moves twice) under a stream of events: Cosmos again
// holds every event exactly once. (KEDA does not watch this namespace: the replica counts are the test's.)
//
// Orders go to the API Service's ready endpoints (its EndpointSlices, as kube-proxy would pick them; this machine
// routes to the pod network), and a client retries a failed request with the same Idempotency-Key, as the API's
// contract asks, so an order caught by a restarting pod is neither lost nor placed twice.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { EventHubProducerClient } from "@azure/event-hubs";
import * as k8s from "@kubernetes/client-node";
import { createCosmosClient } from "../../shared/azure-clients.ts";
import { buildTopology } from "../../shared/topology/topology.ts";
import { HUB, validEvents } from "../../test/support/device-fixture.ts";
import { waitFor } from "../../test/support/wait.ts";
import { helmMissingReason } from "../support/chart.ts";
import { clients, installOnLocalNode, LIVE_ENV_NAME, needsLocalNode, orderBody } from "./live-env.ts";

const RELEASE = "ef-roll";
const skip = helmMissingReason() ?? needsLocalNode();
let namespace = "";
let cleanup = async () => {};

before(async () => {
  if (skip) return;
  [namespace, cleanup] = await installOnLocalNode(RELEASE, "ef-roll");
});
after(() => cleanup());

/** `http://<pod ip>:8080` of each ready endpoint of the API Service. */
async function apiEndpoints(discovery: k8s.DiscoveryV1Api): Promise<string[]> {
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${RELEASE}-eventfleet-api`,
  });
  return slices.items
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready === true)
    .flatMap((e) => e.addresses)
    .map((ip) => `http://${ip}:8080`);
}

/**
 * A request to one of the API's ready endpoints, retried (same body, same Idempotency-Key) until it succeeds. A 429
 * (the API limits each client address, and this test is one address polling hundreds of orders) is asked again after
 * the Retry-After the API names, as a client would.
 */
async function callApi(
  discovery: k8s.DiscoveryV1Api,
  path: string,
  init: RequestInit = {},
  timeoutMs = 120_000,
): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    const endpoints = await apiEndpoints(discovery);
    const base = endpoints[Math.floor(Math.random() * endpoints.length)];
    if (base) {
      try {
        const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
        if (response.status === 429) {
          last = `429 ${await response.text()}`;
          const retryAfterSeconds = Number(response.headers.get("retry-after") ?? "1");
          if (Date.now() > deadline) throw new Error(`${init.method ?? "GET"} ${path}: ${last}`);
          await delay(Math.min(Math.max(retryAfterSeconds, 0.1), 5) * 1000);
          continue;
        }
        if (response.status < 500) return response;
        last = `${response.status} ${await response.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
    } else last = "no ready API endpoint";
    if (Date.now() > deadline) throw new Error(`${init.method ?? "GET"} ${path}: ${last}`);
    await delay(200);
  }
}

/** Device events sent in rounds of 10 (5 devices) until stop(); `ids` are their telemetry document ids. */
function streamDeviceEvents(prefix: string): { ids: string[]; stop(): Promise<void> } {
  const producer = new EventHubProducerClient(process.env.EVENTHUB_CONNECTION_STRING!, HUB);
  const ids: string[] = [];
  let streaming = true;
  const done = (async () => {
    for (let round = 0; streaming; round++) {
      const batch = validEvents(`${prefix}-${round}`, 10, 5);
      for (const [key, group] of Map.groupBy(batch, (e) => e.partitionKey)) {
        await producer.sendBatch(
          group.map((e) => ({ body: e.body })),
          { partitionKey: key },
        );
      }
      ids.push(...batch.map((e) => e.id));
      await delay(250);
    }
  })();
  return {
    ids,
    stop: async () => {
      streaming = false;
      await done;
      await producer.close();
    },
  };
}

/** Waits until Cosmos holds every one of `ids` (and no other id with their prefix), and asserts it holds each once. */
async function assertStoredExactlyOnce(prefix: string, ids: string[]): Promise<void> {
  const cosmos = createCosmosClient({
    COSMOS_ENDPOINT: process.env.COSMOS_ENDPOINT!,
    COSMOS_KEY: process.env.COSMOS_KEY,
    COSMOS_EMULATOR: process.env.COSMOS_EMULATOR === "true" ? true : undefined,
  });
  try {
    const telemetry = cosmos
      .database(buildTopology({ env: LIVE_ENV_NAME }).cosmos.database)
      .container("telemetry");
    const stored = await waitFor(
      async () => {
        const { resources } = await telemetry.items.query<{ id: string }>("SELECT c.id FROM c").fetchAll();
        const ours = resources.map((r) => r.id).filter((id) => id.includes(`${prefix}-`));
        return ours.length >= ids.length ? ours : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 2000, description: `all ${ids.length} device events stored` },
    );
    assert.deepEqual(stored.sort(), [...ids].sort());
  } finally {
    cosmos.dispose();
  }
}

/** Waits until every Deployment has rolled out: all replicas updated and available, no old ones left. */
async function rolledOut(apps: k8s.AppsV1Api): Promise<void> {
  await waitFor(
    async () => {
      const list = (await apps.listNamespacedDeployment({ namespace })).items;
      return list.every((d) => {
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        return (
          (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
          (s.updatedReplicas ?? 0) === want &&
          (s.availableReplicas ?? 0) === want &&
          (s.replicas ?? 0) === want
        );
      });
    },
    { timeoutMs: 600_000, intervalMs: 2000, description: "every Deployment rolled out" },
  );
}

/**
 * `kubectl rollout restart` of every Deployment with replicas, then waits until each has rolled out. As kubectl, a
 * strategic-merge patch of the pod template's annotation: a replace of the listed object would be refused (409
 * Conflict) whenever the deployment controller wrote the Deployment's status since the list, as it does while pods
 * become ready.
 */
async function rolloutRestartAll(apps: k8s.AppsV1Api): Promise<string[]> {
  const restartedAt = new Date().toISOString();
  const names: string[] = [];
  const patch = {
    spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": restartedAt } } } },
  };
  for (const deployment of (await apps.listNamespacedDeployment({ namespace })).items) {
    if ((deployment.spec?.replicas ?? 1) === 0) continue;
    await apps.patchNamespacedDeployment(
      { name: deployment.metadata!.name!, namespace, body: patch },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
    );
    names.push(deployment.metadata!.name!);
  }
  await rolledOut(apps);
  return names;
}

test(
  "a rolling restart of every Deployment under a stream of orders and device events loses nothing and doubles nothing",
  { skip },
  async () => {
    const { kc, apps, core } = clients();
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    // Every pod Ready first (order-flow.test.ts proves that part and names what fails).
    await waitFor(
      async () => {
        const pods = (await core.listNamespacedPod({ namespace })).items;
        const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
        const wanted = deployments.reduce((n, d) => n + (d.spec?.replicas ?? 1), 0);
        const ready = pods.filter((p) =>
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return deployments.length > 0 && ready.length === wanted;
      },
      { timeoutMs: 300_000, intervalMs: 2000, description: "every pod Ready before the restart" },
    );
    const json = { "content-type": "application/json" };
    const sku = `roll-${randomUUID().slice(0, 8)}`;
    const STOCK = 10_000;
    const put = await callApi(discovery, `/v1/inventory/${sku}`, {
      method: "PUT",
      headers: { ...json, "idempotency-key": randomUUID() },
      body: JSON.stringify({ available: STOCK }),
    });
    assert.equal(put.status, 200, `PUT /v1/inventory: ${put.status}`);

    const orders: string[] = [];
    const prefix = `roll-${randomUUID().slice(0, 8)}`;
    const events = streamDeviceEvents(prefix);
    let streaming = true;
    const orderStream = (async () => {
      while (streaming) {
        const placed = await callApi(discovery, "/v1/orders", {
          method: "POST",
          headers: { ...json, "idempotency-key": randomUUID() },
          body: orderBody(sku),
        });
        assert.ok(placed.status === 201 || placed.status === 202, `POST /v1/orders: ${placed.status}`);
        orders.push(((await placed.json()) as { id: string }).id);
      }
    })();
    try {
      await waitFor(() => orders.length >= 3 && events.ids.length >= 30, {
        timeoutMs: 60_000,
        intervalMs: 200,
        description: "the streams running before the restart",
      });
      const restarted = await rolloutRestartAll(apps);
      assert.deepEqual(restarted.map((n) => n.replace(`${RELEASE}-eventfleet-`, "")).sort(), [
        "api",
        "device-ingest",
        "inventory",
        "notification",
        "shipment",
      ]);
      // A little more traffic on the new pods, then stop.
      const atRestartEnd = orders.length;
      await waitFor(() => orders.length >= atRestartEnd + 3, { timeoutMs: 60_000, intervalMs: 200 });
    } finally {
      streaming = false;
      await Promise.all([orderStream, events.stop()]);
    }

    // Lost nothing: every accepted order SHIPPED. Doubled nothing: stock down by exactly that many, none held.
    // An order seen SHIPPED is not asked again: each round asks only for those still on their way.
    const shipped = new Set<string>();
    await waitFor(
      async () => {
        for (const id of orders) {
          if (shipped.has(id)) continue;
          const response = await callApi(discovery, `/v1/orders/${id}`);
          assert.equal(response.status, 200, `GET /v1/orders/${id}: ${response.status}`);
          const order = (await response.json()) as { status?: string };
          assert.ok(
            order.status !== "REJECTED" && order.status !== "CANCELLED",
            `order ${id} ${order.status}`,
          );
          if (order.status !== "SHIPPED") return false;
          shipped.add(id);
        }
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 2000, description: `all ${orders.length} orders SHIPPED` },
    );
    const stock = (await (await callApi(discovery, `/v1/inventory/${sku}`)).json()) as {
      available: number;
      reserved: number;
    };
    assert.deepEqual(stock, { sku, available: STOCK - orders.length, reserved: 0 });

    // Every device event in Cosmos, exactly once (the telemetry document's id is <deviceId>:<eventId>).
    await assertStoredExactlyOnce(prefix, events.ids);
  },
);

test(
  "scaling device-ingest out to 3 replicas and back to 1 under a stream of events keeps every event exactly once",
  { skip },
  async () => {
    const { apps } = clients();
    const name = `${RELEASE}-eventfleet-device-ingest`;
    // A patch, as `kubectl scale`: a read-then-replace is refused (409) when the controller writes status in between.
    const scale = async (replicas: number) => {
      await apps.patchNamespacedDeployment(
        { name, namespace, body: { spec: { replicas } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      await rolledOut(apps);
    };
    await rolledOut(apps);
    const prefix = `scale-${randomUUID().slice(0, 8)}`;
    const events = streamDeviceEvents(prefix);
    try {
      await waitFor(() => events.ids.length >= 30, { timeoutMs: 60_000, intervalMs: 200 });
      await scale(3);
      // The partitions spread over three owners while events keep coming, then move back to one.
      const atOut = events.ids.length;
      await waitFor(() => events.ids.length >= atOut + 50, { timeoutMs: 60_000, intervalMs: 200 });
      await scale(1);
      const atIn = events.ids.length;
      await waitFor(() => events.ids.length >= atIn + 30, { timeoutMs: 60_000, intervalMs: 200 });
    } finally {
      await events.stop();
    }
    await assertStoredExactlyOnce(prefix, events.ids);
  },
);
