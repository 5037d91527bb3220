// `eventfleet dev --cluster`: the local cluster beside a running stack; its KUBECONFIG joins the stack's stack.env.
// With a node (when the machine allows one), the emulators are forwarded to the pod network and the local Secret names
// them as the pods reach them; without one (the reason is printed), pods stay Pending and KEDA still scales.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Stack } from "../stack/stack.ts";
import { writeStackEnv } from "../stack/stack-env.ts";
import { startCluster, type LocalCluster } from "./cluster.ts";
import { applyLocalSecret, LOCAL_NAMESPACE, LOCAL_SECRET } from "./local-secret.ts";
import { forwardEmulatorsToPods } from "./pod-endpoints.ts";

export interface ClusterBesideStack extends LocalCluster {
  /** `--set` flags to add to `helm install -f deploy/local.yaml` (the SQS endpoint as the pods reach it). */
  podSets: string[];
  /** Why there is no node, when there is none. */
  noNode?: string;
}

export async function startClusterBeside(
  stack: Stack,
  root: string,
  stateDir: string,
  progress: (line: string) => void,
): Promise<ClusterBesideStack> {
  const cluster = await startCluster({ root, stateDir, progress });
  let podEnv: Record<string, string> = {};
  let closeForwards = async () => {};
  let noNode: string | undefined;
  try {
    try {
      const node = await cluster.addNode();
      const pods = await forwardEmulatorsToPods(stack.env, node.network.gateway);
      progress(`emulators forwarded to the pods: ${pods.forwards.join(", ")}`);
      podEnv = pods.env;
      closeForwards = () => pods.close();
    } catch (error) {
      noNode = (error as Error).message;
      progress(`NO NODE (pods will stay Pending): ${noNode}`);
    }
    await applyLocalSecret(cluster.kubeconfig, { ...stack.env, ...podEnv });
  } catch (error) {
    await cluster.stop();
    await closeForwards();
    throw error;
  }
  progress(
    `namespace ${LOCAL_NAMESPACE} with Secret ${LOCAL_SECRET} (the emulators' endpoints) for deploy/local.yaml`,
  );
  Object.assign(stack.env, cluster.env);
  writeStackEnv(stack.envFile, stack.env);
  // The stack's PID list gains the cluster's processes, so a check for leftovers covers them too.
  const pidsFile = join(stateDir, "stack.pids.json");
  const pids = JSON.parse(readFileSync(pidsFile, "utf8")) as { name: string; pid?: number }[];
  pids.push(...cluster.processes.map((p) => ({ name: p.name, pid: p.process.pid })));
  pids.push(...(cluster.node?.processes ?? []).map((p) => ({ name: p.name, pid: p.process.pid })));
  writeFileSync(pidsFile, `${JSON.stringify(pids, null, 2)}\n`);
  // The original, before Object.assign replaces it below.
  const stop = cluster.stop.bind(cluster);
  return Object.assign(cluster, {
    podSets: podEnv.AWS_ENDPOINT_URL ? [`--set aws.endpointUrl=${podEnv.AWS_ENDPOINT_URL}`] : [],
    ...(noNode ? { noNode } : {}),
    stop: async () => {
      await stop();
      await closeForwards();
    },
  });
}
