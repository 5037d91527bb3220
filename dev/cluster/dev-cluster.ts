// `eventfleet dev --cluster`: the local cluster beside a running stack; its KUBECONFIG joins the stack's stack.env.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Stack } from "../stack/stack.ts";
import { writeStackEnv } from "../stack/stack-env.ts";
import { startCluster, type LocalCluster } from "./cluster.ts";
import { applyLocalSecret, LOCAL_NAMESPACE, LOCAL_SECRET } from "./local-secret.ts";

export async function startClusterBeside(
  stack: Stack,
  root: string,
  stateDir: string,
  progress: (line: string) => void,
): Promise<LocalCluster> {
  const cluster = await startCluster({ root, stateDir, progress });
  try {
    await applyLocalSecret(cluster.kubeconfig, stack.env);
  } catch (error) {
    await cluster.stop();
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
  writeFileSync(pidsFile, `${JSON.stringify(pids, null, 2)}\n`);
  return cluster;
}
