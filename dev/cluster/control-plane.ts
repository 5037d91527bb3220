// The local control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler as processes on 127.0.0.1.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ManagedProcess } from "../stack/managed-process.ts";
import { choosePort } from "../stack/ports.ts";
import type { ClusterBinaries } from "./binaries.ts";
import { waitForHealthy } from "./https-probe.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterPki } from "./pki.ts";

/** Service and pod ranges exist only as numbers in the API here (no kube-proxy); kept off the usual 10.96/16. */
export const SERVICE_CIDR = "10.0.0.0/24";
const READY_MS = 180_000;

export interface ControlPlaneProcess {
  name: string;
  process: ManagedProcess;
  where: string;
}

export interface ControlPlane {
  server: string;
  /** Admin (system:masters) kubeconfig: what people, helm and tests use. */
  kubeconfig: string;
  processes: ControlPlaneProcess[];
}

interface Context {
  bins: ClusterBinaries;
  pki: ClusterPki;
  dir: string;
  logDir: string;
}

function managed(ctx: Context, name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new ManagedProcess({
    name,
    command,
    args,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    logFile: join(ctx.logDir, `${name}.log`),
  });
}

async function startEtcd(ctx: Context): Promise<ControlPlaneProcess & { url: string }> {
  const [client, peer] = [await choosePort(undefined), await choosePort(undefined)];
  const url = `http://127.0.0.1:${client}`;
  const process = managed(ctx, "etcd", ctx.bins.ETCD, [
    "--name=local",
    `--data-dir=${join(ctx.dir, "etcd")}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=local=http://127.0.0.1:${peer}`,
    // A disposable cluster: no fsync (a loaded 2-core VM otherwise stalls the API server on disk waits).
    "--unsafe-no-fsync",
    "--log-level=warn",
  ]);
  await process.waitForPort(client, READY_MS);
  return { name: "etcd", process, where: url, url };
}

async function startApiserver(
  ctx: Context,
  etcdUrl: string,
): Promise<ControlPlaneProcess & { server: string }> {
  const port = await choosePort(undefined);
  const { pki } = ctx;
  const server = `https://127.0.0.1:${port}`;
  const process = managed(ctx, "kube-apiserver", ctx.bins.KUBE_APISERVER, [
    `--etcd-servers=${etcdUrl}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.apiserver.cert}`,
    `--tls-private-key-file=${pki.apiserver.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--authorization-mode=Node,RBAC",
    "--allow-privileged=true",
    // The "kubernetes" Service would need a non-loopback endpoint; nothing here routes to it.
    "--endpoint-reconciler-type=none",
    // The aggregation layer (KEDA's external metrics API), authenticated by the front-proxy client certificate.
    `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
    `--proxy-client-key-file=${pki.frontProxyClient.key}`,
    "--enable-aggregator-routing=false",
    // A node's kubelet (logs, exec, port-forward): authenticated both ways by the cluster CA.
    `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
    `--kubelet-client-key=${pki.kubeletClient.key}`,
    `--kubelet-certificate-authority=${pki.ca.cert}`,
    // By its address: the node's name resolves nowhere (no DNS on these machines).
    "--kubelet-preferred-address-types=InternalIP",
    "--profiling=false",
    "--v=1",
  ]);
  await waitForHealthy(
    process,
    `${server}/readyz`,
    { ca: pki.ca.cert, client: pki.admin },
    READY_MS,
    join(ctx.logDir, "kube-apiserver.log"),
  );
  return { name: "kube-apiserver", process, where: server, server };
}

async function startController(
  ctx: Context,
  name: "kube-controller-manager" | "kube-scheduler",
  binary: string,
  kubeconfig: string,
  extra: string[],
): Promise<ControlPlaneProcess> {
  const port = await choosePort(undefined);
  const process = managed(ctx, name, binary, [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${join(ctx.dir, name)}`,
    "--leader-elect=false",
    "--v=1",
    ...extra,
  ]);
  const url = `https://127.0.0.1:${port}/healthz`;
  await waitForHealthy(process, url, {}, READY_MS, join(ctx.logDir, `${name}.log`));
  return { name, process, where: url };
}

/**
 * Starts the control plane; each process is pushed onto `started` as soon as it exists, so the caller can stop
 * what did start when a later one fails.
 */
export async function startControlPlane(
  bins: ClusterBinaries,
  pki: ClusterPki,
  dir: string,
  logDir: string,
  started: ControlPlaneProcess[],
): Promise<ControlPlane> {
  const ctx: Context = { bins, pki, dir, logDir };
  mkdirSync(logDir, { recursive: true });
  const etcd = await startEtcd(ctx);
  started.push(etcd);
  const apiserver = await startApiserver(ctx, etcd.url);
  started.push(apiserver);
  const kubeconfig = writeKubeconfig(
    join(dir, "kubeconfig"),
    apiserver.server,
    pki.ca.cert,
    pki.admin,
    "admin",
  );
  const cmConfig = writeKubeconfig(
    join(dir, "controller-manager.kubeconfig"),
    apiserver.server,
    pki.ca.cert,
    pki.controllerManager,
    "kube-controller-manager",
  );
  const schedulerConfig = writeKubeconfig(
    join(dir, "scheduler.kubeconfig"),
    apiserver.server,
    pki.ca.cert,
    pki.scheduler,
    "kube-scheduler",
  );
  const [cm, scheduler] = await Promise.all([
    startController(ctx, "kube-controller-manager", bins.KUBE_CONTROLLER_MANAGER, cmConfig, [
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.ca.cert}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      "--use-service-account-credentials=true",
      // The HPA reacts within seconds (15 s upstream default) so the scaling tests stay short.
      "--horizontal-pod-autoscaler-sync-period=5s",
    ]).then((p) => (started.push(p), p)),
    startController(ctx, "kube-scheduler", bins.KUBE_SCHEDULER, schedulerConfig, []).then(
      (p) => (started.push(p), p),
    ),
  ]);
  return { server: apiserver.server, kubeconfig, processes: [etcd, apiserver, cm, scheduler] };
}
