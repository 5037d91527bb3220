// KEDA on the local cluster: its CRDs (and the Prometheus Operator's) from the Go modules' own files, the operator
// and the metrics API server as processes on 127.0.0.1, and the APIService that puts KEDA's external metrics
// behind kube-apiserver (an ExternalName Service points the aggregation layer at localhost).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { ManagedProcess } from "../stack/managed-process.ts";
import { choosePort } from "../stack/ports.ts";
import type { ClusterBinaries } from "./binaries.ts";
import {
  applyObjects,
  kubeConfigFrom,
  objectsInDir,
  waitForApiService,
  waitForCrds,
} from "./cluster-objects.ts";
import type { ControlPlaneProcess } from "./control-plane.ts";
import { waitForHealthy } from "./https-probe.ts";
import type { ClusterPki } from "./pki.ts";

export const KEDA_NAMESPACE = "keda";
export const EXTERNAL_METRICS_APISERVICE = "v1beta1.external.metrics.k8s.io";
const READY_MS = 180_000;

/** Installs the KEDA and Prometheus Operator CRDs and waits until their APIs are served. */
export async function installCrds(bins: ClusterBinaries, kubeconfig: string): Promise<string[]> {
  const kc = kubeConfigFrom(kubeconfig);
  const crds = [
    ...objectsInDir(bins.KEDA_CRDS),
    // What the chart's monitoring objects need; the rest of the Prometheus Operator's CRDs are not used here.
    ...objectsInDir(bins.PROMETHEUS_OPERATOR_CRDS, (f) =>
      /_(servicemonitors|podmonitors|prometheusrules)\.yaml$/.test(f),
    ),
  ];
  await applyObjects(kc, crds);
  const names = crds.map((c) => c.metadata!.name!);
  await waitForCrds(kc, names, 60_000);
  return names;
}

export interface RunningKeda {
  processes: ControlPlaneProcess[];
  /** The operator's Prometheus endpoint (keda_scaler_metrics_value, keda_scaler_errors_total...). */
  operatorMetricsUrl: string;
}

/** Starts the KEDA operator and metrics API server; each is pushed onto `started` as soon as it exists. */
export async function startKeda(
  bins: ClusterBinaries,
  pki: ClusterPki,
  kubeconfig: string,
  logDir: string,
  started: ControlPlaneProcess[],
  watchNamespaces: string[],
): Promise<RunningKeda> {
  const kc = kubeConfigFrom(kubeconfig);
  const [grpc, operatorMetrics, operatorHealth, apiPort, adapterMetrics] = [
    await choosePort(undefined),
    await choosePort(undefined),
    await choosePort(undefined),
    await choosePort(undefined),
    await choosePort(undefined),
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KUBECONFIG: kubeconfig,
    WATCH_NAMESPACE: watchNamespaces.join(","),
    POD_NAMESPACE: KEDA_NAMESPACE,
    KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
    OPERATOR_NAME: "keda-operator",
    KEDA_HTTP_DEFAULT_TIMEOUT: "3000",
  };
  await applyObjects(kc, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: KEDA_NAMESPACE } }]);

  const operator = new ManagedProcess({
    name: "keda-operator",
    command: bins.KEDA_OPERATOR,
    args: [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      `--metrics-bind-address=127.0.0.1:${operatorMetrics}`,
      `--health-probe-bind-address=127.0.0.1:${operatorHealth}`,
      `--metrics-service-bind-address=127.0.0.1:${grpc}`,
      `--cert-dir=${pki.keda.dir}`,
      `--ca-dir=${pki.caDir}`,
      "--zap-log-level=info",
      "--zap-encoder=console",
    ],
    env,
    logFile: join(logDir, "keda-operator.log"),
  });
  const operatorMetricsUrl = `http://127.0.0.1:${operatorMetrics}/metrics`;
  started.push({ name: "keda-operator", process: operator, where: operatorMetricsUrl });
  await operator.waitForPort(operatorHealth, READY_MS);

  const adapter = new ManagedProcess({
    name: "keda-metrics-apiserver",
    command: bins.KEDA_METRICS_APISERVER,
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--lister-kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${pki.keda.dir}`,
      `--tls-cert-file=${pki.keda.cert}`,
      `--tls-private-key-file=${pki.keda.key}`,
      `--port=${adapterMetrics}`,
      `--metrics-service-address=127.0.0.1:${grpc}`,
      "--v=1",
    ],
    env,
    logFile: join(logDir, "keda-metrics-apiserver.log"),
  });
  const apiUrl = `https://127.0.0.1:${apiPort}`;
  started.push({ name: "keda-metrics-apiserver", process: adapter, where: apiUrl });
  await waitForHealthy(
    adapter,
    `${apiUrl}/healthz`,
    {},
    READY_MS,
    join(logDir, "keda-metrics-apiserver.log"),
  );

  await applyObjects(kc, [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "keda-metrics-apiserver", namespace: KEDA_NAMESPACE },
      spec: { type: "ExternalName", externalName: "localhost", ports: [{ name: "https", port: apiPort }] },
    } as k8s.KubernetesObject,
    {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: EXTERNAL_METRICS_APISERVICE },
      spec: {
        group: "external.metrics.k8s.io",
        version: "v1beta1",
        service: { name: "keda-metrics-apiserver", namespace: KEDA_NAMESPACE, port: apiPort },
        caBundle: readFileSync(pki.ca.cert).toString("base64"),
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    } as k8s.KubernetesObject,
  ]);
  await waitForApiService(kc, EXTERNAL_METRICS_APISERVICE, READY_MS);
  return {
    processes: [operator, adapter].map((p, i) => ({
      name: p.name,
      process: p,
      where: i === 0 ? operatorMetricsUrl : apiUrl,
    })),
    operatorMetricsUrl,
  };
}
