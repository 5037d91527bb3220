// The local cluster's DNS (what CoreDNS does in a real cluster, for the names our chart uses): a UDP server on the
// pod network's gateway that answers `<service>.<namespace>.svc.cluster.local` A queries from the API server.
//
// A Service resolves to the addresses of its ready endpoints (EndpointSlices), as a headless Service does: the node
// runs no kube-proxy, whose iptables chains (KUBE-SERVICES, ...) are machine-wide and would be fought over by two
// local clusters on one machine. So a Service works here when its port equals its target port (the chart's
// management port 9464 does; the API's http port is reached by port-forward). Names outside cluster.local get
// NXDOMAIN: these machines have no upstream DNS.
import { createSocket, type Socket } from "node:dgram";
import * as k8s from "@kubernetes/client-node";

export const CLUSTER_DOMAIN = "cluster.local";
const TYPE_A = 1;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_SERVFAIL = 2;
const TTL_SECONDS = 5;

export interface ClusterDns {
  address: string;
  close(): Promise<void>;
}

interface Question {
  name: string;
  type: number;
  /** Where the question section ends (the answer section starts there). */
  end: number;
}

function parseQuestion(packet: Buffer): Question | undefined {
  if (packet.length < 12 || packet.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    const length = packet[at];
    if (length === undefined || length > 63) return undefined;
    at += 1;
    if (length === 0) break;
    labels.push(
      packet
        .subarray(at, at + length)
        .toString("ascii")
        .toLowerCase(),
    );
    at += length;
  }
  if (at + 4 > packet.length) return undefined;
  return { name: labels.join("."), type: packet.readUInt16BE(at), end: at + 4 };
}

function reply(query: Buffer, question: Question, rcode: number, addresses: string[]): Buffer {
  const header = Buffer.from(query.subarray(0, 12));
  // QR=1, opcode 0, AA=1, RD copied from the query, RA=0; the RCODE in the low nibble.
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  header.writeUInt32BE(0, 8);
  const answers = addresses.map((ip) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(CLASS_IN, 4);
    record.writeUInt32BE(TTL_SECONDS, 6);
    record.writeUInt16BE(4, 10);
    ip.split(".").forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    return record;
  });
  return Buffer.concat([header, query.subarray(12, question.end), ...answers]);
}

/** The ready endpoint addresses of Service `name` in `namespace`; undefined when there is no such Service. */
async function serviceAddresses(
  core: k8s.CoreV1Api,
  discovery: k8s.DiscoveryV1Api,
  name: string,
  namespace: string,
): Promise<string[] | undefined> {
  try {
    await core.readNamespacedService({ name, namespace });
  } catch {
    return undefined;
  }
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${name}`,
  });
  return slices.items
    .filter((s) => s.addressType === "IPv4")
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => e.addresses);
}

/** Answers on <address>:53 (UDP) from the cluster of `kubeconfig`. */
export async function startClusterDns(kubeconfig: k8s.KubeConfig, address: string): Promise<ClusterDns> {
  const core = kubeconfig.makeApiClient(k8s.CoreV1Api);
  const discovery = kubeconfig.makeApiClient(k8s.DiscoveryV1Api);
  const socket: Socket = createSocket("udp4");
  const suffix = `.svc.${CLUSTER_DOMAIN}`;
  socket.on("message", (query, from) => {
    const question = parseQuestion(query);
    if (!question) return;
    void (async () => {
      let rcode = RCODE_NXDOMAIN;
      let addresses: string[] = [];
      const parts = question.name.endsWith(suffix) ? question.name.slice(0, -suffix.length).split(".") : [];
      if (parts.length === 2) {
        try {
          const found = await serviceAddresses(core, discovery, parts[0]!, parts[1]!);
          if (found) {
            rcode = 0;
            // AAAA and other types of a known name: NOERROR with no answer (the name exists, IPv4 only).
            addresses = question.type === TYPE_A ? found : [];
          }
        } catch {
          rcode = RCODE_SERVFAIL;
        }
      }
      socket.send(reply(query, question, rcode, addresses), from.port, from.address);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(53, address, () => resolve());
  });
  return { address, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}
