// A node for the local cluster: containerd and the kubelet (built from Go modules by scripts/build-node-bins.sh) in a
// sandbox of their own (node-sandbox.ts), a bridge pod network (pod-network.ts), the pause image and the app image
// imported from archives. stop() undoes all of it: processes by PID, the cgroup tree, the bridge, the image store.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { nodeBinaries, type NodeBinaries } from "./binaries.ts";
import { startClusterDns } from "./cluster-dns.ts";
import { kubeConfigFrom } from "./cluster-objects.ts";
import { startContainerd } from "./containerd.ts";
import type { ControlPlaneProcess } from "./control-plane.ts";
import { startKubelet } from "./kubelet.ts";
import { createNodeSandbox } from "./node-sandbox.ts";
import { APP_IMAGE, saveAppImage } from "./node-images.ts";
import type { ClusterPki } from "./pki.ts";
import { createPodNetwork, type PodNetwork } from "./pod-network.ts";

/** The node's settings, each with its default and why. */
export const NODE_DEFAULTS = {
  /** One node per local cluster, so a fixed name. */
  nodeName: "eventfleet-node",
  /** Registration, CNI ready and the first status update, on a loaded 2-core machine. */
  readyTimeoutMs: 180_000,
  /** The image of `make image`, imported when built (the chart's deploy/local.yaml names it). */
  appImage: APP_IMAGE,
};

export interface NodeOptions {
  root: string;
  /** The node's state goes to <dir>, its logs to <logDir>. */
  dir: string;
  logDir: string;
  pki: ClusterPki;
  server: string;
  /** Admin kubeconfig: the cluster DNS reads Services and EndpointSlices with it. */
  kubeconfig: string;
  progress: (line: string) => void;
}

export interface LocalNode {
  name: string;
  bins: NodeBinaries;
  network: PodNetwork;
  processes: ControlPlaneProcess[];
  /** Whether the app image is in the node's image store, or why not. */
  appImage: { image: string; missing?: string };
  /** Stops everything the node started and removes what it created; returns what it could not undo. */
  stop(): Promise<string[]>;
}

export async function startNode(options: NodeOptions): Promise<LocalNode> {
  const say = options.progress;
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const bins = await nodeBinaries(options.root, say);
  const { dir, logDir } = options;
  rmSync(dir, { recursive: true, force: true });
  const processes: ControlPlaneProcess[] = [];
  const undo: (() => Promise<string[]>)[] = [];
  const stop = async () => {
    const problems: string[] = [];
    // kubelet first (it would restart what stops under it), then containerd, then whatever is left in the cgroups.
    for (const p of [...processes].reverse()) await p.process.stop(10_000);
    for (const step of [...undo].reverse()) problems.push(...(await step().catch((e: Error) => [e.message])));
    return problems;
  };
  try {
    const sandbox = await createNodeSandbox(
      join(dir, "sandbox"),
      `eventfleet-node-${randomBytes(3).toString("hex")}`,
    );
    undo.push(() => sandbox.destroy());
    const network = await createPodNetwork(join(dir, "cni"));
    undo.push(async () => (await network.remove(), []));
    const dns = await startClusterDns(kubeConfigFrom(options.kubeconfig), network.gateway);
    undo.push(async () => (await dns.close(), []));
    const containerdDir = join(dir, "containerd");
    const containerd = await startContainerd(bins, sandbox, network, containerdDir, logDir);
    processes.push({ name: "containerd", process: containerd.process, where: containerd.endpoint });
    // Unpacked images and snapshots are large: gone with the node (the namespace that mounted them is gone by then).
    undo.push(() => (rmSync(containerdDir, { recursive: true, force: true }), Promise.resolve([])));
    await containerd.importImage(bins.PAUSE_IMAGE_ARCHIVE);
    const archive = join(dir, "app-image.tar");
    const appImage: LocalNode["appImage"] = { image: NODE_DEFAULTS.appImage };
    appImage.missing = await saveAppImage(options.root, appImage.image, archive);
    if (!appImage.missing) {
      await containerd.importImage(archive);
      rmSync(archive, { force: true });
    }
    say(
      `containerd ${bins.CONTAINERD_VERSION} ready, images imported (${seconds()} s): ${bins.PAUSE_IMAGE}` +
        (appImage.missing ? `; NOT ${appImage.image}: ${appImage.missing}` : `, ${appImage.image}`),
    );
    const kubelet = await startKubelet(
      bins,
      options.pki,
      sandbox,
      containerd.process.pid!,
      network,
      join(dir, "kubelet"),
      logDir,
      {
        nodeName: NODE_DEFAULTS.nodeName,
        server: options.server,
        containerdEndpoint: containerd.endpoint,
        clusterDns: dns.address,
        readyTimeoutMs: NODE_DEFAULTS.readyTimeoutMs,
      },
    );
    processes.push({ name: "kubelet", process: kubelet, where: `https://${network.gateway}` });
    say(
      `node ${NODE_DEFAULTS.nodeName} Ready (pod network ${network.subnet} on ${network.bridge}) in ${seconds()} s`,
    );
    return { name: NODE_DEFAULTS.nodeName, bins, network, processes, appImage, stop };
  } catch (error) {
    const problems = await stop();
    if (problems.length > 0) say(`node cleanup: ${problems.join("; ")}`);
    throw error;
  }
}
