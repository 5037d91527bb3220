// The Secret that deploy/local.yaml names (existingSecret): the emulators' endpoints and keys, read by the roles
// (envFrom) and by KEDA's TriggerAuthentications (secretTargetRef). The emulators accept any AWS key.
import type * as k8s from "@kubernetes/client-node";
import { applyObjects, kubeConfigFrom } from "./cluster-objects.ts";
import { withoutDefaultPort } from "./hub-endpoint.ts";

export const LOCAL_SECRET = "eventfleet-local";
export const LOCAL_NAMESPACE = "eventfleet";
const KEYS = [
  "REDIS_URL",
  "EVENTHUB_CONNECTION_STRING",
  "STORAGE_CONNECTION_STRING",
  "COSMOS_ENDPOINT",
  "COSMOS_KEY",
  // Set when the pods reach the Cosmos emulator on the node's address rather than on loopback (pod-endpoints.ts).
  "COSMOS_EMULATOR",
] as const;

export function localSecretData(stackEnv: Record<string, string>): Record<string, string> {
  const data: Record<string, string> = { AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" };
  for (const key of KEYS) if (stackEnv[key]) data[key] = stackEnv[key];
  // KEDA finds the worker's checkpoints only when the endpoint is written without its port (hub-endpoint.ts).
  if (data.EVENTHUB_CONNECTION_STRING)
    data.EVENTHUB_CONNECTION_STRING = withoutDefaultPort(data.EVENTHUB_CONNECTION_STRING);
  return data;
}

/** Creates (or replaces) the namespace and the Secret `name` in it from the stack's environment. */
export async function applyLocalSecret(
  kubeconfig: string,
  stackEnv: Record<string, string>,
  namespace = LOCAL_NAMESPACE,
  name = LOCAL_SECRET,
): Promise<void> {
  await applyObjects(kubeConfigFrom(kubeconfig), [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace },
      type: "Opaque",
      stringData: localSecretData(stackEnv),
    } as k8s.KubernetesObject,
  ]);
}
