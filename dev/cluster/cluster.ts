// The local Kubernetes cluster of `eventfleet dev --cluster` and the live tests: control plane + KEDA on 127.0.0.1,
// built from upstream Go modules (scripts/build-cluster-bins.sh), fresh state on every start, stopped by PID.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { clusterBinaries, type ClusterBinaries } from "./binaries.ts";
import { startControlPlane, type ControlPlaneProcess } from "./control-plane.ts";
import { installCrds, startKeda } from "./keda.ts";
import { startNode, type LocalNode } from "./node.ts";
import { createPki, type ClusterPki } from "./pki.ts";

export interface ClusterOptions {
  root: string;
  /** The cluster's state (certificates, etcd data, kubeconfig) goes to <stateDir>/cluster, its logs to <stateDir>/logs. */
  stateDir: string;
  /**
   * Install the CRDs and start KEDA (default). Off: a bare control plane, for checks that need the KEDA API absent;
   * `LocalCluster.addKeda()` adds it later.
   */
  keda?: boolean;
  /**
   * Start a node (containerd + kubelet, dev/cluster/node.ts) so pods run. Off by default; `LocalCluster.addNode()`
   * adds it later.
   */
  node?: boolean;
  /** Namespaces KEDA acts in (its WATCH_NAMESPACE); default: all. */
  kedaNamespaces?: string[];
  progress?: (line: string) => void;
}

export interface LocalCluster {
  server: string;
  kubeconfig: string;
  bins: ClusterBinaries;
  pki: ClusterPki;
  processes: ControlPlaneProcess[];
  /** The node, once started. */
  node?: LocalNode;
  /** KUBECONFIG, and KEDA_OPERATOR_METRICS_URL once KEDA runs: what stack.env gets. */
  env: Record<string, string>;
  /** Installs the CRDs and starts KEDA (what `keda: true` does at start). */
  addKeda(): Promise<void>;
  /** Starts the node (what `node: true` does at start); rejects, naming the component, when the machine cannot. */
  addNode(): Promise<LocalNode>;
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<LocalCluster> {
  const say = options.progress ?? (() => undefined);
  const started = Date.now();
  const bins = await clusterBinaries(options.root, say);
  const dir = join(options.stateDir, "cluster");
  const logDir = join(options.stateDir, "logs");
  rmSync(dir, { recursive: true, force: true });
  const pki = await createPki(join(dir, "pki"));
  const processes: ControlPlaneProcess[] = [];
  let node: LocalNode | undefined;
  const stop = async () => {
    // The node first (its kubelet talks to the API server), then KEDA, the controllers, the API server, etcd.
    const problems = (await node?.stop()) ?? [];
    for (const problem of problems) say(`node cleanup: ${problem}`);
    for (const p of [...processes].reverse()) await p.process.stop(5000);
  };
  try {
    const plane = await startControlPlane(bins, pki, dir, logDir, processes);
    say(
      `kube-apiserver ${bins.KUBERNETES_VERSION} ready at ${plane.server} (${Math.round((Date.now() - started) / 1000)} s)`,
    );
    const env: Record<string, string> = { KUBECONFIG: plane.kubeconfig };
    const addKeda = async () => {
      const crds = await installCrds(bins, plane.kubeconfig);
      say(
        `installed ${crds.length} CRDs (KEDA ${bins.KEDA_VERSION}, Prometheus Operator monitoring objects)`,
      );
      const keda = await startKeda(
        bins,
        pki,
        plane.kubeconfig,
        logDir,
        processes,
        options.kedaNamespaces ?? [],
      );
      env.KEDA_OPERATOR_METRICS_URL = keda.operatorMetricsUrl;
      say(`KEDA ${bins.KEDA_VERSION} ready (external metrics APIService Available)`);
    };
    const cluster: LocalCluster = {
      server: plane.server,
      kubeconfig: plane.kubeconfig,
      bins,
      pki,
      processes,
      env,
      addKeda,
      addNode: async () => {
        node = await startNode({
          root: options.root,
          dir: join(dir, "node"),
          logDir,
          pki,
          server: plane.server,
          kubeconfig: plane.kubeconfig,
          progress: say,
        });
        cluster.node = node;
        return node;
      },
      stop,
    };
    if (options.keda ?? true) await addKeda();
    if (options.node) await cluster.addNode();
    say(`cluster up in ${Math.round((Date.now() - started) / 1000)} s`);
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}
