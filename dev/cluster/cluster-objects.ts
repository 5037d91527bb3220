// Creating objects in the local cluster from YAML files or literals (CRDs, namespaces, the APIService), as
// `kubectl apply` would, with @kubernetes/client-node.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { setTimeout as delay } from "node:timers/promises";

export function kubeConfigFrom(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function isConflict(error: unknown): boolean {
  return (error as { code?: number }).code === 409;
}

/** Creates each object, or replaces it when it exists already. */
export async function applyObjects(kc: k8s.KubeConfig, objects: k8s.KubernetesObject[]): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
    try {
      await client.create(object);
    } catch (error) {
      if (!isConflict(error)) throw error;
      const current = await client.read(object as k8s.KubernetesObject & { metadata: { name: string } });
      object.metadata = { ...object.metadata, resourceVersion: current.metadata?.resourceVersion };
      await client.replace(object);
    }
  }
}

/** Every object of every *.yaml file in `dir`. */
export function objectsInDir(
  dir: string,
  filter: (file: string) => boolean = () => true,
): k8s.KubernetesObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && filter(f))
    .sort()
    .flatMap((f) => k8s.loadAllYaml(readFileSync(join(dir, f), "utf8")) as k8s.KubernetesObject[])
    .filter((o) => o && typeof o === "object");
}

interface Conditioned {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** Waits until every named CustomResourceDefinition is Established (its API is then served). */
export async function waitForCrds(kc: k8s.KubeConfig, names: string[], timeoutMs: number): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = (await api.readCustomResourceDefinition({ name })) as Conditioned;
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within ${timeoutMs} ms`);
      await delay(200);
    }
  }
}

/** Waits until an APIService reports Available=True; fails with its last condition message. */
export async function waitForApiService(kc: k8s.KubeConfig, name: string, timeoutMs: number): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiregistrationV1Api);
  const deadline = Date.now() + timeoutMs;
  let last = "no status yet";
  for (;;) {
    const service = (await api.readAPIService({ name })) as Conditioned;
    const available = service.status?.conditions?.find((c) => c.type === "Available");
    if (available?.status === "True") return;
    last = available?.message ?? last;
    if (Date.now() > deadline)
      throw new Error(`APIService ${name} not Available within ${timeoutMs} ms: ${last}`);
    await delay(500);
  }
}
