// The node's pod network: a Linux bridge of our own (ef-cni<n>) whose address 10.244.<n>.1 is the pods' gateway and
// the node's address, and the CNI configuration (bridge + host-local IPAM) that puts each pod on it. <n> is the first
// index whose bridge does not exist yet, so two local clusters on one machine get separate networks. No NAT and no
// iptables rule: pods reach only this machine's addresses on the bridge (where the emulators are forwarded to).
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Bridge names ef-cni0..ef-cni<MAX-1> and their /24s of 10.244.0.0/16: nothing else on these machines uses them. */
const MAX_NETWORKS = 64;
export const POD_NETWORK_PREFIX = "10.244";
export const CNI_NETWORK_NAME = "eventfleet";

export interface PodNetwork {
  bridge: string;
  subnet: string;
  /** The bridge's address: the pods' gateway, the node's InternalIP, where pods reach the emulators. */
  gateway: string;
  /** containerd's cni.conf_dir. */
  confDir: string;
  /** Deletes the bridge (the pods' veth ends went with their network namespaces). */
  remove(): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT")
      throw new Error("ip is not installed: the pod network needs it (apt-get install iproute2)", {
        cause: error,
      });
    throw new Error(`ip ${args.join(" ")}: ${(e.stderr ?? e.message).trim()}`, { cause: error });
  }
}

/** Claims the first free ef-cni<n> (creating a link is atomic: a taken name fails), gives it its gateway address. */
async function claimBridge(): Promise<{ bridge: string; index: number }> {
  let last = "";
  for (let index = 0; index < MAX_NETWORKS; index++) {
    const bridge = `ef-cni${index}`;
    try {
      await ip(["link", "add", bridge, "type", "bridge"]);
      return { bridge, index };
    } catch (error) {
      last = (error as Error).message;
      if (!/exists/i.test(last)) throw error;
    }
  }
  throw new Error(`no free pod network: ef-cni0..ef-cni${MAX_NETWORKS - 1} all exist (last: ${last})`);
}

export async function createPodNetwork(dir: string): Promise<PodNetwork> {
  const { bridge, index } = await claimBridge();
  const subnet = `${POD_NETWORK_PREFIX}.${index}.0/24`;
  const gateway = `${POD_NETWORK_PREFIX}.${index}.1`;
  const remove = () => ip(["link", "del", bridge]).catch(() => undefined);
  try {
    await ip(["addr", "add", `${gateway}/24`, "dev", bridge]);
    await ip(["link", "set", bridge, "up"]);
  } catch (error) {
    await remove();
    throw error;
  }
  const confDir = join(dir, "net.d");
  mkdirSync(confDir, { recursive: true });
  const conf = {
    cniVersion: "1.0.0",
    name: CNI_NETWORK_NAME,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet, gateway }]],
          routes: [{ dst: "0.0.0.0/0" }],
          // host-local's default (/var/lib/cni/networks) is machine-wide: ours stays in the node's state.
          dataDir: join(dir, "ipam"),
        },
      },
    ],
  };
  writeFileSync(join(confDir, "10-eventfleet.conflist"), `${JSON.stringify(conf, null, 2)}\n`);
  return { bridge, subnet, gateway, confDir, remove: () => remove() };
}
