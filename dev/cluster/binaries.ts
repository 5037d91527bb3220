// Where the cluster's programs are: scripts/build-cluster-bins.sh (control plane, KEDA) and scripts/build-node-bins.sh
// (the node) build them from Go modules once per machine (cached) and print KEY=path lines, which this module reads.
import { spawn } from "node:child_process";
import { join } from "node:path";

export interface ClusterBinaries {
  ETCD: string;
  KUBE_APISERVER: string;
  KUBE_CONTROLLER_MANAGER: string;
  KUBE_SCHEDULER: string;
  KEDA_OPERATOR: string;
  KEDA_METRICS_APISERVER: string;
  KEDA_CRDS: string;
  PROMETHEUS_OPERATOR_CRDS: string;
  KUBERNETES_VERSION: string;
  KEDA_VERSION: string;
}

const KEYS: (keyof ClusterBinaries)[] = [
  "ETCD",
  "KUBE_APISERVER",
  "KUBE_CONTROLLER_MANAGER",
  "KUBE_SCHEDULER",
  "KEDA_OPERATOR",
  "KEDA_METRICS_APISERVER",
  "KEDA_CRDS",
  "PROMETHEUS_OPERATOR_CRDS",
  "KUBERNETES_VERSION",
  "KEDA_VERSION",
];

/**
 * Runs one of the build scripts (scripts/build-*-bins.sh: they build what is missing, minutes the first time on a
 * machine, a second or two afterwards) and returns its KEY=path lines for `keys`. `progress` receives the script's
 * own progress lines (those starting with `<script name>:`: what it builds and how long it took).
 */
export async function runBuildScript<K extends string>(
  root: string,
  script: string,
  keys: readonly K[],
  progress: (line: string) => void,
): Promise<Record<K, string>> {
  const prefix = `${script.replace(/^.*\//, "").replace(/\.sh$/, "")}:`;
  const child = spawn("bash", [join(root, script)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderrTail = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    stderrTail = (stderrTail + text).slice(-4000);
    for (const line of text.split("\n")) if (line.startsWith(prefix)) progress(line);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`${script} failed (exit ${code}):\n${stderrTail}`);
  const found: Partial<Record<K, string>> = {};
  for (const line of stdout.split("\n")) {
    const at = line.indexOf("=");
    const key = line.slice(0, at) as K;
    if (at > 0 && keys.includes(key)) found[key] = line.slice(at + 1);
  }
  const missing = keys.filter((k) => !found[k]);
  if (missing.length > 0) throw new Error(`${script} did not print ${missing.join(", ")}`);
  return found as Record<K, string>;
}

/** The control plane's programs (scripts/build-cluster-bins.sh). */
export function clusterBinaries(root: string, progress: (line: string) => void): Promise<ClusterBinaries> {
  return runBuildScript(root, "scripts/build-cluster-bins.sh", KEYS, progress);
}

/** The node's programs and images (scripts/build-node-bins.sh). */
export interface NodeBinaries {
  KUBELET: string;
  /** containerd, containerd-shim-runc-v2 and ctr, side by side. */
  CONTAINERD_DIR: string;
  CONTAINERD_VERSION: string;
  /** bridge, host-local, loopback, portmap. */
  CNI_BIN_DIR: string;
  PAUSE_IMAGE: string;
  PAUSE_IMAGE_ARCHIVE: string;
}

const NODE_KEYS: (keyof NodeBinaries)[] = [
  "KUBELET",
  "CONTAINERD_DIR",
  "CONTAINERD_VERSION",
  "CNI_BIN_DIR",
  "PAUSE_IMAGE",
  "PAUSE_IMAGE_ARCHIVE",
];

export function nodeBinaries(root: string, progress: (line: string) => void): Promise<NodeBinaries> {
  return runBuildScript(root, "scripts/build-node-bins.sh", NODE_KEYS, progress);
}
