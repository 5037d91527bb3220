// Evaluates rendered NetworkPolicies the way a policy-enforcing CNI does: may this pod reach that peer on that port?
// (Kubernetes semantics: a pod selected by no policy of a direction is open in it; otherwise the union of the
// rules of every policy selecting it decides. ipBlock peers match only addresses outside the cluster here.)
import type { K8sObject } from "./chart.ts";

type Labels = Record<string, string>;
interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}
interface Rule {
  ports?: PolicyPort[];
  from?: Peer[];
  to?: Peer[];
}
export type NetworkPolicy = K8sObject & {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: Rule[];
    egress?: Rule[];
  };
};

/** A pod as the policies see it: namespace, labels and its named container ports. */
export interface PodEndpoint {
  kind: "pod";
  namespace: string;
  labels: Labels;
  ports: Record<string, number>;
}
/** An address outside the cluster (a cloud endpoint, Redis in the VPC, ...). */
export interface ExternalEndpoint {
  kind: "external";
  ip: string;
}
export type Endpoint = PodEndpoint | ExternalEndpoint;

function selects(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    if (e.operator === "In" && !(has && e.values?.includes(value!))) return false;
    if (e.operator === "NotIn" && has && e.values?.includes(value!)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const ipToInt = (ip: string) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  if (!base?.includes(".") || !ip.includes(".")) return false; // IPv4 only: enough for these checks
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(base) / size);
}

const namespaceLabels = (namespace: string): Labels => ({ "kubernetes.io/metadata.name": namespace });

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (other.kind !== "external") return false;
    return (
      inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c))
    );
  }
  if (other.kind !== "pod") return false;
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, namespaceLabels(other.namespace))
    : other.namespace === policyNamespace;
  return namespaceOk && selects(peer.podSelector, other.labels);
}

function portMatches(
  ports: PolicyPort[] | undefined,
  port: number,
  protocol: string,
  named: Record<string, number>,
) {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === "string" ? named[p.port] : p.port;
    if (number === undefined) return false;
    return p.endPort ? port >= number && port <= p.endPort : port === number;
  });
}

function allowedIn(
  policies: NetworkPolicy[],
  direction: "Ingress" | "Egress",
  pod: PodEndpoint,
  other: Endpoint,
  port: number,
  protocol: string,
  named: Record<string, number>,
): boolean {
  const applying = policies.filter(
    (p) =>
      (p.metadata.namespace ?? "") === pod.namespace &&
      selects(p.spec.podSelector, pod.labels) &&
      (p.spec.policyTypes ?? ["Ingress"]).includes(direction),
  );
  if (applying.length === 0) return true;
  return applying.some((p) =>
    (direction === "Ingress" ? p.spec.ingress : p.spec.egress)?.some((rule) => {
      const peers = direction === "Ingress" ? rule.from : rule.to;
      const peerOk =
        !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, pod.namespace, other));
      return peerOk && portMatches(rule.ports, port, protocol, named);
    }),
  );
}

/** Whether `from` may open a connection to `to` on `port` (a number, or a name `to` declares). */
export function canConnect(
  policies: NetworkPolicy[],
  from: Endpoint,
  to: Endpoint,
  port: number | string,
  protocol = "TCP",
): boolean {
  const named = to.kind === "pod" ? to.ports : {};
  const number = typeof port === "string" ? named[port] : port;
  if (number === undefined) throw new Error(`the destination declares no port named ${String(port)}`);
  const egressOk = from.kind !== "pod" || allowedIn(policies, "Egress", from, to, number, protocol, named);
  const ingressOk = to.kind !== "pod" || allowedIn(policies, "Ingress", to, from, number, protocol, named);
  return egressOk && ingressOk;
}

interface PodTemplateLike {
  metadata: { labels?: Labels; namespace?: string };
  spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] };
}

/** The endpoint of a pod template (a Deployment's) or a Pod, in `namespace`. */
export function podEndpoint(template: PodTemplateLike, namespace: string): PodEndpoint {
  const ports: Record<string, number> = {};
  for (const c of template.spec.containers)
    for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
  return { kind: "pod", namespace, labels: template.metadata.labels ?? {}, ports };
}
