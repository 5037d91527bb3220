// Where the node's programs run so that they change nothing of the machine they did not create: one private mount
// namespace (containerd, its shims, the kubelet and kube-proxy share it) and one cgroup tree of our own.
//
// - Mounts (container root filesystems, pod volumes, network-namespace files, /run/containerd) live in the private
//   mount namespace and vanish with its last process: nothing is left mounted on the machine after a stop or a crash.
// - The kernel settings the kubelet insists on (vm.overcommit_memory=1, kernel.panic_on_oops=1, ...) and the
//   ip_forward switch the CNI bridge plugin flips are files bind-mounted over /proc/sys inside that namespace: the
//   programs read and write them there, the machine's own values stay as they are.
// - Every process the node starts (containerd, shims, pods, the kubelet) is in one cgroup tree of each hierarchy,
//   below the cgroup this process is accounted in (the kubelet's cgroupRoot), so destroy() finds and kills each of
//   them by PID and removes the tree (and the parent folders it had to create).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);
const CGROUP_FS = "/sys/fs/cgroup";

/**
 * The kubelet's required kernel settings (pkg/kubelet/cm's setupKernelTunables) and ip_forward (set by the CNI
 * bridge plugin). Inside the sandbox they read as the kubelet wants; ip_forward keeps the machine's value.
 */
const SYSCTLS: Record<string, string | undefined> = {
  "vm/overcommit_memory": "1",
  "vm/panic_on_oom": "0",
  "kernel/panic": "10",
  "kernel/panic_on_oops": "1",
  "kernel/keys/root_maxkeys": "1000000",
  "kernel/keys/root_maxbytes": "25000000",
  "net/ipv4/ip_forward": undefined,
};

export interface NodeSandbox {
  /** The cgroup path of the tree, the same in every hierarchy: the kubelet's cgroupRoot. */
  cgroupRoot: string;
  /** The command line that starts the namespace's first process (containerd), in the cgroup tree. */
  first(command: string, args: string[]): { command: string; args: string[] };
  /** The command line that starts a process inside the namespace of `pid` (the first process), in the cgroup tree. */
  join(pid: number, command: string, args: string[]): { command: string; args: string[] };
  /** SIGKILLs every process left in the cgroup tree (shims, pods), waits until it is empty, removes the tree. */
  destroy(timeoutMs?: number): Promise<string[]>;
}

/**
 * Where this process is accounted (its memory cgroup, else its first non-root one): the tree goes below it, so the
 * node's processes stay accounted where their launcher is.
 */
function launcherCgroup(): string {
  const lines = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n");
  const paths = lines.map((l) => ({ controllers: l.split(":")[1] ?? "", path: l.split(":")[2] ?? "/" }));
  const memory = paths.find((p) => p.controllers.split(",").includes("memory"));
  return (memory ?? paths.find((p) => p.path !== "/"))?.path ?? "/";
}

/** The v1 hierarchies (and the v2 one of a hybrid setup) mounted under /sys/fs/cgroup. */
function hierarchies(): string[] {
  return readdirSync(CGROUP_FS)
    .map((h) => join(CGROUP_FS, h))
    .filter((dir) => existsSync(join(dir, "cgroup.procs")));
}

/** Every cgroup below and including `dir`, deepest first. */
function cgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => cgroupTree(join(dir, e.name)));
  return [...children, dir];
}

function pidsIn(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    try {
      for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n"))
        if (line.trim()) pids.add(Number(line));
    } catch {
      // removed meanwhile
    }
  }
  return [...pids];
}

/** `echo $$ > <cgroup.procs of the tracking cgroup in every hierarchy>`, then the given lines, then exec. */
function wrapper(procsFiles: string[], lines: string[]): string {
  const join = procsFiles.map((f) => `echo $$ > '${f}'`);
  return ["set -e", ...join, ...lines, 'exec "$@"'].join("\n");
}

/** mkdir -p of `path` under `hierarchy`; returns the folders it created, outermost first. */
function makeCgroup(hierarchy: string, path: string): string[] {
  const created: string[] = [];
  let at = hierarchy;
  for (const part of path.split("/").filter(Boolean)) {
    const parent = at;
    at = join(at, part);
    if (existsSync(at)) continue;
    mkdirSync(at);
    created.push(at);
    // A new cpuset has no CPUs or memory nodes, and no task may join it until it has: the parent's.
    if (existsSync(join(parent, "cpuset.cpus")))
      for (const file of ["cpuset.cpus", "cpuset.mems"])
        writeFileSync(join(at, file), readFileSync(join(parent, file)));
  }
  return created;
}

/**
 * Creates the cgroup tree <launcher's cgroup>/<name> (in every hierarchy) and the fake kernel-setting files under
 * `dir`. Fails, naming the step, when the machine does not allow it.
 */
export async function createNodeSandbox(dir: string, name: string): Promise<NodeSandbox> {
  mkdirSync(dir, { recursive: true });
  for (const tool of ["unshare", "nsenter", "mount"]) {
    try {
      await run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      throw new Error(
        `${tool} is not installed: the node runs in a private mount namespace (apt-get install util-linux mount)`,
      );
    }
  }
  const cgroupRoot = join(launcherCgroup(), name);
  const procsFiles: string[] = [];
  const created: string[] = [];
  for (const hierarchy of hierarchies()) {
    created.push(...makeCgroup(hierarchy, join(cgroupRoot, "runtime")));
    procsFiles.push(join(hierarchy, cgroupRoot, "runtime", "cgroup.procs"));
  }
  const mounts: string[] = [];
  for (const [key, wanted] of Object.entries(SYSCTLS)) {
    const real = `/proc/sys/${key}`;
    if (!existsSync(real)) continue;
    const fake = join(dir, key.replaceAll("/", "."));
    writeFileSync(fake, `${wanted ?? readFileSync(real, "utf8").trim()}\n`);
    mounts.push(`mount --bind '${fake}' '${real}'`);
  }
  // containerd's shims put their sockets under /run/containerd whatever the configuration says: a tmpfs of ours.
  mounts.push("mkdir -p /run/containerd", "mount -t tmpfs -o mode=0711 eventfleet-node /run/containerd");
  const trees = () => hierarchies().map((h) => join(h, cgroupRoot));
  return {
    cgroupRoot,
    first: (command, args) => ({
      command: "unshare",
      args: [
        "--mount",
        "--propagation",
        "private",
        "--",
        "bash",
        "-c",
        wrapper(procsFiles, mounts),
        "node-sandbox",
        command,
        ...args,
      ],
    }),
    join: (pid, command, args) => ({
      command: "nsenter",
      args: [
        `--mount=/proc/${pid}/ns/mnt`,
        "--",
        "bash",
        "-c",
        wrapper(procsFiles, []),
        "node-sandbox",
        command,
        ...args,
      ],
    }),
    async destroy(timeoutMs = 20_000) {
      const problems: string[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pids = pidsIn(trees().flatMap(cgroupTree));
        if (pids.length === 0) break;
        if (Date.now() > deadline) {
          problems.push(`processes still in cgroup ${cgroupRoot} after ${timeoutMs} ms: ${pids.join(" ")}`);
          break;
        }
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // exited meanwhile
          }
        }
        await delay(100);
      }
      // The tree, deepest first, then the parents it created (innermost first).
      for (const cg of new Set([...trees().flatMap(cgroupTree), ...created.toReversed()])) {
        for (let attempt = 0; existsSync(cg); attempt++) {
          try {
            rmdirSync(cg);
          } catch (error) {
            // A cgroup whose last task just died may stay busy for a moment.
            if (attempt >= 50) {
              problems.push(`cannot remove cgroup ${cg}: ${(error as Error).message}`);
              break;
            }
            await delay(100);
          }
        }
      }
      return problems;
    },
  };
}
