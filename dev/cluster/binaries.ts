// Where the cluster's programs are: scripts/build-cluster-bins.sh builds them from Go modules once per machine
// (cached) and prints KEY=path lines, which this module reads.
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
 * Builds what is missing (minutes the first time on a machine, a second or two afterwards) and returns the paths.
 * `progress` receives the script's stderr lines (what it builds and how long it took).
 */
export async function clusterBinaries(
  root: string,
  progress: (line: string) => void,
): Promise<ClusterBinaries> {
  const script = join(root, "scripts/build-cluster-bins.sh");
  const child = spawn("bash", [script], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderrTail = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    stderrTail = (stderrTail + text).slice(-4000);
    for (const line of text.split("\n")) if (line.startsWith("build-cluster-bins:")) progress(line);
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`scripts/build-cluster-bins.sh failed (exit ${code}):\n${stderrTail}`);
  const found: Partial<ClusterBinaries> = {};
  for (const line of stdout.split("\n")) {
    const at = line.indexOf("=");
    const key = line.slice(0, at) as keyof ClusterBinaries;
    if (at > 0 && KEYS.includes(key)) found[key] = line.slice(at + 1);
  }
  const missing = KEYS.filter((k) => !found[k]);
  if (missing.length > 0)
    throw new Error(`scripts/build-cluster-bins.sh did not print ${missing.join(", ")}`);
  return found as ClusterBinaries;
}
