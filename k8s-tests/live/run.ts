// Live tier (`make k8s-test-live`): installs the chart on a real cluster (kind, EKS, AKS), waits for the rollouts,
// checks every ScaledObject is Ready, places an order through a port-forward and waits until it is SHIPPED.
//
// NOT run in CI here: no Kubernetes API server can run on the build machines. It is type-checked with the rest.
//
// Needs: KUBECONFIG (or ~/.kube/config) pointing at a cluster with KEDA installed, the chart's cloud resources
// provisioned (`eventfleet infra apply`), identities set up (docs/deploy-eks.md, docs/deploy-aks.md), and:
//   EVENTFLEET_VALUES      comma-separated values files (required), e.g. my-eks-values.yaml
//   EVENTFLEET_IMAGE       repository:tag of the image to run (required; pushed by `make image PUSH=1`)
//   EVENTFLEET_NAMESPACE   namespace (default eventfleet-live-<random>; created with Pod Security "restricted")
//   EVENTFLEET_RELEASE     release name (default ef-live)
//   EVENTFLEET_API_TOKEN   bearer token when api.authMode is not none
//   KEEP=1                 leave the release and namespace in place afterwards
// Exit code 0 when the order reached SHIPPED, 1 with the failing step otherwise.
import { randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { createServer, type AddressInfo, type Server } from "node:net";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { HELM, CHART_DIR } from "../support/chart.ts";
import { waitFor } from "../../test/support/wait.ts";

const run = promisify(execFile);

interface Options {
  values: string[];
  image: string;
  namespace: string;
  release: string;
  token: string | undefined;
  keep: boolean;
}

function options(env: NodeJS.ProcessEnv = process.env): Options {
  const values = (env.EVENTFLEET_VALUES ?? "").split(",").filter(Boolean);
  const image = env.EVENTFLEET_IMAGE ?? "";
  if (values.length === 0)
    throw new Error("EVENTFLEET_VALUES: set it to your values file(s), comma-separated");
  if (!/^[^:]+(:[^:]+)?$|^.+\/[^:]+:[^:]+$/.test(image)) {
    throw new Error("EVENTFLEET_IMAGE: set it to <repository>:<tag> of a pushed eventfleet image");
  }
  return {
    values,
    image,
    namespace: env.EVENTFLEET_NAMESPACE ?? `eventfleet-live-${randomUUID().slice(0, 6)}`,
    release: env.EVENTFLEET_RELEASE ?? "ef-live",
    token: env.EVENTFLEET_API_TOKEN,
    keep: env.KEEP === "1",
  };
}

function step(message: string): void {
  process.stderr.write(`k8s-test-live: ${message}\n`);
}

async function ensureNamespace(core: k8s.CoreV1Api, name: string): Promise<void> {
  try {
    await core.readNamespace({ name });
  } catch {
    await core.createNamespace({
      body: {
        metadata: {
          name,
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
          },
        },
      },
    });
  }
}

async function helmInstall(o: Options): Promise<void> {
  const lastColon = o.image.lastIndexOf(":");
  const args = ["upgrade", "--install", o.release, CHART_DIR, "--namespace", o.namespace, "--timeout", "10m"];
  for (const file of o.values) args.push("-f", file);
  args.push(
    "--set",
    `image.repository=${o.image.slice(0, lastColon)}`,
    "--set",
    `image.tag=${o.image.slice(lastColon + 1)}`,
  );
  await run(HELM, args, { maxBuffer: 16 * 1024 * 1024 });
}

/** Every Deployment of the release has its desired replicas updated and available (0 is fine under KEDA). */
async function waitForRollouts(apps: k8s.AppsV1Api, o: Options): Promise<void> {
  await waitFor(
    async () => {
      const list = await apps.listNamespacedDeployment({
        namespace: o.namespace,
        labelSelector: `app.kubernetes.io/instance=${o.release}`,
      });
      if (list.items.length === 0) return false;
      return list.items.every((d) => {
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        return (
          (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
          (s.updatedReplicas ?? 0) >= want &&
          (s.availableReplicas ?? 0) >= want
        );
      });
    },
    { timeoutMs: 10 * 60_000, intervalMs: 3000, description: "every Deployment rolled out" },
  );
}

interface Condition {
  type: string;
  status: string;
  message?: string;
}
interface ScaledObjectList {
  items: { metadata: { name: string }; status?: { conditions?: Condition[] } }[];
}

async function waitForScaledObjects(custom: k8s.CustomObjectsApi, o: Options): Promise<string[]> {
  return waitFor(
    async () => {
      const list = (await custom.listNamespacedCustomObject({
        group: "keda.sh",
        version: "v1alpha1",
        namespace: o.namespace,
        plural: "scaledobjects",
        labelSelector: `app.kubernetes.io/instance=${o.release}`,
      })) as ScaledObjectList;
      const ready = list.items.every((so) =>
        so.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready ? list.items.map((so) => so.metadata.name) : undefined;
    },
    { timeoutMs: 5 * 60_000, intervalMs: 3000, description: "every ScaledObject Ready=True" },
  );
}

/** A local TCP port forwarded to the API pod's 8080 (like `kubectl port-forward`). */
async function forwardApi(kc: k8s.KubeConfig, core: k8s.CoreV1Api, o: Options): Promise<Server> {
  const pods = await core.listNamespacedPod({
    namespace: o.namespace,
    labelSelector: `app.kubernetes.io/instance=${o.release},app.kubernetes.io/component=api`,
  });
  const pod = pods.items.find((p) => p.status?.phase === "Running")?.metadata?.name;
  if (!pod) throw new Error("no running API pod to port-forward to");
  const forward = new k8s.PortForward(kc);
  const server = createServer((socket) => {
    forward.portForward(o.namespace, pod, [8080], socket, null, socket).catch((error: unknown) => {
      step(`port-forward: ${(error as Error).message}`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function placeOrderAndWaitShipped(base: string, o: Options): Promise<string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "idempotency-key": randomUUID(),
  };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const sku = `live-${randomUUID().slice(0, 8)}`;
  const stock = await fetch(`${base}/v1/inventory/${sku}`, {
    method: "PUT",
    headers,
    body: JSON.stringify({ available: 10 }),
  });
  if (!stock.ok) throw new Error(`PUT /v1/inventory/${sku}: ${stock.status} ${await stock.text()}`);
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
  if (placed.status !== 202 && placed.status !== 201) {
    throw new Error(`POST /v1/orders: ${placed.status} ${await placed.text()}`);
  }
  const { id } = (await placed.json()) as { id: string };
  step(`order ${id} placed; waiting for SHIPPED`);
  await waitFor(
    async () => {
      const res = await fetch(`${base}/v1/orders/${id}`, { headers });
      const order = (await res.json()) as { status?: string };
      if (order.status === "REJECTED" || order.status === "CANCELLED")
        throw new Error(`order ended ${order.status}`);
      return order.status === "SHIPPED";
    },
    { timeoutMs: 5 * 60_000, intervalMs: 2000, description: `order ${id} SHIPPED` },
  );
  return id;
}

export async function main(): Promise<void> {
  const o = options();
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  step(`cluster ${kc.getCurrentCluster()?.server ?? "?"}, namespace ${o.namespace}, release ${o.release}`);
  let server: Server | undefined;
  try {
    await ensureNamespace(core, o.namespace);
    step("helm upgrade --install");
    await helmInstall(o);
    step("waiting for rollouts");
    await waitForRollouts(apps, o);
    const scaled = await waitForScaledObjects(custom, o);
    step(`ScaledObjects ready: ${scaled.join(", ") || "(none)"}`);
    server = await forwardApi(kc, core, o);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const id = await placeOrderAndWaitShipped(base, o);
    step(`order ${id} SHIPPED`);
    await run(HELM, ["test", o.release, "--namespace", o.namespace, "--timeout", "3m"]);
    step("helm test passed");
  } finally {
    server?.close();
    if (!o.keep) {
      step("cleaning up (KEEP=1 keeps the release)");
      await run(HELM, ["uninstall", o.release, "--namespace", o.namespace, "--wait"]).catch(() => undefined);
      await core.deleteNamespace({ name: o.namespace }).catch(() => undefined);
    }
  }
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    step(`FAILED: ${(error as Error).message}`);
    process.exit(1);
  });
}
