// The node's container runtime: containerd (built from its Go module) with its root, state, socket and runc state
// under the node's folder, the CRI plugin pointed at our CNI configuration and at the locally built pause image, and
// nothing pulled from a registry: images are imported from archives (`ctr images import`).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { ManagedProcess } from "../stack/managed-process.ts";
import type { NodeBinaries } from "./binaries.ts";
import type { NodeSandbox } from "./node-sandbox.ts";
import type { PodNetwork } from "./pod-network.ts";

const run = promisify(execFile);
/** The CRI's namespace of containerd: images the kubelet can use live there. */
export const CRI_NAMESPACE = "k8s.io";
const READY_MS = 60_000;

export interface Containerd {
  process: ManagedProcess;
  /** unix:// endpoint for the kubelet. */
  endpoint: string;
  /** `ctr` against this containerd, in the CRI namespace. */
  ctr(args: string[], timeoutMs?: number): Promise<string>;
  /** Imports an image archive (OCI or docker-archive) and unpacks it for the kubelet. */
  importImage(archive: string): Promise<void>;
}

function config(dir: string, bins: NodeBinaries, network: PodNetwork): string {
  const q = (s: string) => JSON.stringify(s);
  return `version = 3
root = ${q(join(dir, "root"))}
state = ${q(join(dir, "state"))}
# NRI would listen on /var/run/nri (machine-wide); the other snapshotters need what this machine lacks.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs"]

[grpc]
  address = ${q(join(dir, "containerd.sock"))}
[ttrpc]
  address = ${q(join(dir, "containerd.sock.ttrpc"))}
[debug]
  address = ""
[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${q(join(dir, "opt"))}
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(bins.PAUSE_IMAGE)}
  [plugins.'io.containerd.cri.v1.runtime']
    netns_mounts_under_state_dir = true
    # These VMs withhold CAP_SYS_RESOURCE even from root: runc cannot lower oom_score_adj (-998 for a pod sandbox)
    # below containerd's own, and would fail every pod with "can't get final child's PID from pipe: EOF".
    restrict_oom_score_adj = true
    enable_cdi = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        runtime_path = ${q(join(bins.CONTAINERD_DIR, "containerd-shim-runc-v2"))}
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = 'runc'
          Root = ${q(join(dir, "runc"))}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(bins.CNI_BIN_DIR)}]
      conf_dir = ${q(network.confDir)}
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
`;
}

export async function startContainerd(
  bins: NodeBinaries,
  sandbox: NodeSandbox,
  network: PodNetwork,
  dir: string,
  logDir: string,
): Promise<Containerd> {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, "config.toml");
  writeFileSync(configFile, config(dir, bins, network));
  const socket = join(dir, "containerd.sock");
  const line = sandbox.first(join(bins.CONTAINERD_DIR, "containerd"), ["--config", configFile]);
  const process = new ManagedProcess({
    name: "containerd",
    command: line.command,
    args: line.args,
    // runc from the system (apt); the shim finds containerd's binaries beside it.
    env: {
      PATH: `${bins.CONTAINERD_DIR}:${globalThis.process.env.PATH ?? "/usr/sbin:/usr/bin"}`,
      HOME: "/root",
    },
    logFile: join(logDir, "containerd.log"),
  });
  const ctr = async (args: string[], timeoutMs = 120_000) => {
    try {
      const { stdout } = await run(
        join(bins.CONTAINERD_DIR, "ctr"),
        ["--address", socket, "--namespace", CRI_NAMESPACE, ...args],
        { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      );
      return stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`ctr ${args.slice(0, 2).join(" ")}: ${(e.stderr ?? e.message).trim()}`, {
        cause: error,
      });
    }
  };
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (!process.running)
      throw new Error(
        `containerd exited (code ${await process.exited}) before it was ready: see ${join(logDir, "containerd.log")}`,
      );
    if (
      existsSync(socket) &&
      (await ctr(["version"], 10_000).then(
        () => true,
        () => false,
      ))
    )
      break;
    if (Date.now() > deadline)
      throw new Error(`containerd did not answer on ${socket} within ${READY_MS} ms`);
    await delay(200);
  }
  return {
    process,
    endpoint: `unix://${socket}`,
    ctr,
    async importImage(archive) {
      await ctr(["images", "import", "--snapshotter", "overlayfs", archive], 600_000);
    },
  };
}
