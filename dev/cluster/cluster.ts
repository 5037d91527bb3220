// The local Kubernetes cluster of `eventfleet dev --cluster` and the live tests: control plane + KEDA on 127.0.0.1,
// built from upstream Go modules (scripts/build-cluster-bins.sh), fresh state on every start, stopped by PID.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { clusterBinaries, type ClusterBinaries } from "./binaries.ts";
import { startControlPlane, type ControlPlaneProcess } from "./control-plane.ts";
import { installCrds, startKeda } from "./keda.ts";
import { createPki } from "./pki.ts";

export interface ClusterOptions {
  root: string;
  /** The cluster's state (certificates, etcd data, kubeconfig) goes to <stateDir>/cluster, its logs to <stateDir>/logs. */
  stateDir: string;
  /**
   * Install the CRDs and start KEDA (default). Off: a bare control plane, for checks that need the KEDA API absent;
   * `LocalCluster.addKeda()` adds it later.
   */
  keda?: boolean;
  /** Namespaces KEDA acts in (its WATCH_NAMESPACE); default: all. */
  kedaNamespaces?: string[];
  progress?: (line: string) => void;
}

export interface LocalCluster {
  server: string;
  kubeconfig: string;
  bins: ClusterBinaries;
  processes: ControlPlaneProcess[];
  /** KUBECONFIG, and KEDA_OPERATOR_METRICS_URL once KEDA runs: what stack.env gets. */
  env: Record<string, string>;
  /** Installs the CRDs and starts KEDA (what `keda: true` does at start). */
  addKeda(): Promise<void>;
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
  const stop = async () => {
    // KEDA first, then the controllers, the API server and etcd last (reverse start order).
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
    if (options.keda ?? true) await addKeda();
    say(`cluster up in ${Math.round((Date.now() - started) / 1000)} s`);
    return { server: plane.server, kubeconfig: plane.kubeconfig, bins, processes, env, addKeda, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
