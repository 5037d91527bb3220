// What the live tests share: the cluster's clients, helm against it, a namespace per test, and the values that
// point deploy/local.yaml at the run's emulators (their ports are free ones, not the standard ones).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { applyLocalSecret } from "../../dev/cluster/local-secret.ts";
import { CHART_DIR, helm, ROOT } from "../support/chart.ts";

/** EVENTFLEET_ENV of the live run's resources (queues live-inventory..., container live-checkpoints). */
export const LIVE_ENV_NAME = "live";
export const LOCAL_VALUES = join(ROOT, "deploy/local.yaml");
/** The one namespace KEDA watches in the local live run (run.ts): where the scaling tests install. */
export const KEDA_TEST_NAMESPACE = "ef-live-keda";

/** Why a test that needs the local emulators (reachable by KEDA) cannot run, or undefined when it can. */
export function needsLocalCluster(): string | undefined {
  if (process.env.EVENTFLEET_LIVE === "local") return undefined;
  return "needs the local cluster and emulators (run through `make k8s-test-live` without EVENTFLEET_LIVE_KUBECONFIG)";
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  autoscaling: k8s.AutoscalingV2Api;
  custom: k8s.CustomObjectsApi;
}

export function clients(): Clients {
  const kc = kubeConfig();
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    autoscaling: kc.makeApiClient(k8s.AutoscalingV2Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
}

/** A fresh namespace for one test (`exact`: that name); deleted (without waiting) by the returned function. */
export async function testNamespace(
  core: k8s.CoreV1Api,
  prefix: string,
  exact = false,
): Promise<[string, () => Promise<void>]> {
  const name = exact ? prefix : `${prefix}-${randomUUID().slice(0, 6)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return [name, async () => void (await core.deleteNamespace({ name }).catch(() => undefined))];
}

/** `helm <args>` against the cluster of KUBECONFIG; rejects with helm's stderr. */
export async function liveHelm(args: string[]): Promise<string> {
  try {
    return (await helm(args)).stdout;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`helm ${args.slice(0, 2).join(" ")} failed: ${e.stderr ?? e.message}`, { cause: error });
  }
}

/** The --set flags that point deploy/local.yaml at this run's emulators. */
export function localSets(stackEnv: NodeJS.ProcessEnv = process.env): string[] {
  const endpoint = stackEnv.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error("AWS_ENDPOINT_URL missing: the live runner passes the emulators' endpoints");
  return ["--set", `environment=${LIVE_ENV_NAME}`, "--set", `aws.endpointUrl=${endpoint}`];
}

/** `helm install|upgrade <release>` of the chart with deploy/local.yaml pointed at this run's emulators (+ extra args). */
export async function helmLocal(
  verb: "install" | "upgrade",
  release: string,
  namespace: string,
  extra: string[] = [],
): Promise<string> {
  return liveHelm([
    verb,
    release,
    CHART_DIR,
    "--namespace",
    namespace,
    "-f",
    LOCAL_VALUES,
    ...localSets(),
    ...extra,
  ]);
}

/**
 * With the local node: a fresh namespace with the local Secret (the emulators as the pods reach them: the runner's
 * environment) and `release` of deploy/local.yaml installed in it (not waited for). Returns the namespace and its
 * cleanup.
 */
export async function installOnLocalNode(
  release: string,
  prefix: string,
): Promise<[string, () => Promise<void>]> {
  const [namespace, cleanup] = await testNamespace(clients().core, prefix);
  await applyLocalSecret(process.env.KUBECONFIG!, process.env as Record<string, string>, namespace);
  await helmLocal("install", release, namespace);
  return [namespace, cleanup];
}

/** Why a test that needs the local node cannot run, or undefined when it can. */
export function needsLocalNode(): string | undefined {
  if (process.env.EVENTFLEET_LIVE !== "local") return "needs the local cluster's node (make k8s-test-live)";
  if (process.env.EVENTFLEET_LIVE_NO_NODE)
    return `the local cluster has no node: ${process.env.EVENTFLEET_LIVE_NO_NODE}`;
  return process.env.EVENTFLEET_LIVE_NO_IMAGE;
}

/** A valid order of one unit of `sku` (POST /v1/orders). */
export function orderBody(sku: string): string {
  return JSON.stringify({
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
  });
}
