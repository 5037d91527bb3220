// The node's kubelet: registered with the local API server under its own client certificate (system:node:<name>),
// serving on the pod network's gateway address (a certificate from the cluster CA, so the API server verifies it),
// with every path of its own under the node's folder and settings for this kind of machine (cgroup v1 via cgroupfs,
// no swap check, eviction only when nearly nothing is left, no image garbage collection of the imported images).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";
import { ManagedProcess } from "../stack/managed-process.ts";
import { choosePort } from "../stack/ports.ts";
import type { NodeBinaries } from "./binaries.ts";
import { kubeConfigFrom } from "./cluster-objects.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { issueLeaf, type ClusterPki } from "./pki.ts";
import type { NodeSandbox } from "./node-sandbox.ts";
import type { PodNetwork } from "./pod-network.ts";

export interface KubeletOptions {
  nodeName: string;
  server: string;
  containerdEndpoint: string;
  /** The cluster DNS address pods get in resolv.conf (none: the machine's resolv.conf). */
  clusterDns?: string;
  readyTimeoutMs: number;
}

export async function startKubelet(
  bins: NodeBinaries,
  pki: ClusterPki,
  sandbox: NodeSandbox,
  containerdPid: number,
  network: PodNetwork,
  dir: string,
  logDir: string,
  options: KubeletOptions,
): Promise<ManagedProcess> {
  mkdirSync(dir, { recursive: true });
  const [client, serving] = await Promise.all([
    issueLeaf(pki, "kubelet-client", `/CN=system:node:${options.nodeName}/O=system:nodes`),
    issueLeaf(pki, "kubelet-serving", `/CN=system:node:${options.nodeName}/O=system:nodes`, [
      `IP:${network.gateway}`,
      `DNS:${options.nodeName}`,
    ]),
  ]);
  const kubeconfig = writeKubeconfig(
    join(dir, "kubelet.kubeconfig"),
    options.server,
    pki.ca.cert,
    client,
    `system:node:${options.nodeName}`,
  );
  const [port, healthzPort] = [await choosePort(undefined), await choosePort(undefined)];
  // Pods resolve nothing but the cluster (there is no upstream DNS to forward to on these machines).
  const resolvConf = join(dir, "resolv.conf");
  writeFileSync(resolvConf, options.clusterDns ? `nameserver ${options.clusterDns}\n` : "");
  const config = {
    kind: "KubeletConfiguration",
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    address: network.gateway,
    port,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort,
    tlsCertFile: serving.cert,
    tlsPrivateKeyFile: serving.key,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pki.ca.cert },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: options.containerdEndpoint,
    // These machines have cgroup v1 (hybrid): the kubelet refuses it unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupRoot: sandbox.cgroupRoot,
    failSwapOn: false,
    // The kernel settings it wants are provided inside the sandbox (node-sandbox.ts); it must not write the real ones.
    protectKernelDefaults: true,
    podLogsDir: join(dir, "pod-logs"),
    volumePluginDir: join(dir, "volume-plugins"),
    resolvConf,
    ...(options.clusterDns ? { clusterDNS: [options.clusterDns], clusterDomain: "cluster.local" } : {}),
    // A shared, nearly full test machine must not evict the pods under test; images are imported, never pulled back.
    evictionHard: {
      "memory.available": "1Mi",
      "nodefs.available": "1%",
      "nodefs.inodesFree": "1%",
      "imagefs.available": "1%",
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    maxPods: 60,
    // Pod status reaches the API server quickly, so waits in tests stay short.
    nodeStatusUpdateFrequency: "5s",
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
    shutdownGracePeriod: "0s",
  };
  const configFile = join(dir, "kubelet-config.json");
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const line = sandbox.join(containerdPid, bins.KUBELET, [
    `--config=${configFile}`,
    `--kubeconfig=${kubeconfig}`,
    `--root-dir=${join(dir, "root")}`,
    `--cert-dir=${join(dir, "pki")}`,
    `--hostname-override=${options.nodeName}`,
    `--node-ip=${network.gateway}`,
    "--v=1",
  ]);
  const process = new ManagedProcess({
    name: "kubelet",
    command: line.command,
    args: line.args,
    env: { PATH: globalThis.process.env.PATH, HOME: "/root" },
    logFile: join(logDir, "kubelet.log"),
  });
  await waitForNodeReady(process, kubeConfigFrom(kubeconfig), options, join(logDir, "kubelet.log"));
  return process;
}

async function waitForNodeReady(
  process: ManagedProcess,
  kc: k8s.KubeConfig,
  options: KubeletOptions,
  log: string,
): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + options.readyTimeoutMs;
  let last = "not registered yet";
  for (;;) {
    if (!process.running) throw new Error(`kubelet exited (code ${await process.exited}): see ${log}`);
    try {
      const node = await core.readNode({ name: options.nodeName });
      const ready = node.status?.conditions?.find((c) => c.type === "Ready");
      if (ready?.status === "True") return;
      last = `Ready=${ready?.status ?? "?"}: ${ready?.message ?? ready?.reason ?? ""}`;
    } catch {
      // not registered yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `node ${options.nodeName} not Ready within ${options.readyTimeoutMs} ms (${last}); see ${log}`,
      );
    await delay(500);
  }
}
