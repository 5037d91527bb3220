// A cluster on paper: what the guides' kubectl/helm/make commands would find and leave, with our chart really
// rendered (`helm template` with the APIs installed so far) and the third-party charts reduced to their effects.
// Each command either succeeds, changing the state, or throws with the reason a real cluster would give.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CHART_DIR, parseManifests, ROOT, helm, type K8sObject } from "../support/chart.ts";
import { canConnect, podEndpoint, type NetworkPolicy } from "../support/network-policy.ts";

type Labels = Record<string, string>;
interface Obj extends K8sObject {
  metadata: K8sObject["metadata"] & { namespace: string };
}

/** kubectl's names and short names of the kinds the guides and runbooks touch, and the API each needs. */
const KINDS: Record<string, { kind: string; api?: string }> = {};
for (const [names, kind, api] of [
  [["deploy", "deployment", "deployments"], "Deployment"],
  [["pod", "pods", "po"], "Pod"],
  [["svc", "service", "services"], "Service"],
  [["hpa", "horizontalpodautoscaler", "horizontalpodautoscalers"], "HorizontalPodAutoscaler"],
  [["pdb", "poddisruptionbudget", "poddisruptionbudgets"], "PodDisruptionBudget"],
  [["secret", "secrets"], "Secret"],
  [["ns", "namespace", "namespaces"], "Namespace"],
  [["crd", "crds", "customresourcedefinition", "customresourcedefinitions"], "CustomResourceDefinition"],
  [["scaledobject", "scaledobjects", "so"], "ScaledObject", "keda.sh/v1alpha1"],
  [["triggerauthentication", "triggerauthentications", "ta"], "TriggerAuthentication", "keda.sh/v1alpha1"],
  [["servicemonitor", "servicemonitors"], "ServiceMonitor", "monitoring.coreos.com/v1"],
  [["podmonitor", "podmonitors"], "PodMonitor", "monitoring.coreos.com/v1"],
  [["prometheusrule", "prometheusrules"], "PrometheusRule", "monitoring.coreos.com/v1"],
] as [string[], string, string?][]) {
  for (const n of names) KINDS[n] = api ? { kind, api } : { kind };
}

const KEDA_APIS = [
  "keda.sh/v1alpha1",
  "keda.sh/v1alpha1/ScaledObject",
  "keda.sh/v1alpha1/TriggerAuthentication",
];
const MONITORING_APIS = [
  "monitoring.coreos.com/v1",
  "monitoring.coreos.com/v1/ServiceMonitor",
  "monitoring.coreos.com/v1/PodMonitor",
  "monitoring.coreos.com/v1/PrometheusRule",
];

/** What a chart of the guides installs, as far as the next steps can tell. */
interface Release {
  name: string;
  namespace: string;
  chart: string;
  objects: Obj[];
  values: Record<string, unknown>;
}

export class SimulatedCluster {
  readonly apis = new Set<string>(["v1", "apps/v1"]);
  readonly repos = new Map<string, string>();
  readonly namespaces = new Map<string, Labels>([
    ["default", {}],
    ["kube-system", {}],
  ]);
  readonly objects: Obj[] = [];
  readonly releases = new Map<string, Release>();
  /** Label selecting monitoring objects of the kube-prometheus-stack release, once installed. */
  prometheusSelector: Labels | undefined;
  readonly log: string[] = [];

  // ---- queries ---------------------------------------------------------------------------------------------

  find(kind: string, namespace: string | undefined, name?: string, selector?: Labels): Obj[] {
    return this.objects.filter(
      (o) =>
        o.kind === kind &&
        (namespace === undefined ||
          kind === "Namespace" ||
          kind === "CustomResourceDefinition" ||
          o.metadata.namespace === namespace) &&
        (name === undefined || o.metadata.name === name) &&
        Object.entries(selector ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
  }

  /** The pods a Deployment runs now (its replicas; KEDA-scaled ones count their minimum). */
  podsOf(deployment: Obj): Obj[] {
    const spec = deployment.spec as {
      replicas?: number;
      template: { metadata: { labels: Labels }; spec: unknown };
    };
    const scaled = this.find("ScaledObject", deployment.metadata.namespace).find(
      (s) =>
        (s.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === deployment.metadata.name,
    );
    const replicas =
      spec.replicas ?? (scaled ? (scaled.spec as { minReplicaCount: number }).minReplicaCount : 1);
    return Array.from({ length: replicas }, (_, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${deployment.metadata.name}-sim${i}`,
        namespace: deployment.metadata.namespace,
        labels: spec.template.metadata.labels,
        ownerDeployment: deployment.metadata.name,
      } as Obj["metadata"],
      spec: spec.template.spec,
    }));
  }

  pods(namespace: string): Obj[] {
    return this.find("Deployment", namespace).flatMap((d) => this.podsOf(d));
  }

  // ---- state changes ---------------------------------------------------------------------------------------

  add(o: Obj): void {
    const i = this.objects.findIndex(
      (x) =>
        x.kind === o.kind &&
        x.metadata.name === o.metadata.name &&
        x.metadata.namespace === o.metadata.namespace,
    );
    if (i >= 0) this.objects.splice(i, 1, o);
    else this.objects.push(o);
  }

  createNamespace(name: string, mayExist = false): void {
    if (this.namespaces.has(name)) {
      if (mayExist) return;
      throw new Error(`namespaces "${name}" already exists`);
    }
    this.namespaces.set(name, { "kubernetes.io/metadata.name": name });
    this.add({ apiVersion: "v1", kind: "Namespace", metadata: { name, namespace: "" } });
  }

  requireNamespace(name: string): void {
    if (!this.namespaces.has(name)) throw new Error(`namespaces "${name}" not found`);
  }

  requireApi(api: string | undefined, what: string): void {
    if (api && !this.apis.has(api))
      throw new Error(`the server doesn't have a resource type "${what}" (${api} is not installed)`);
  }

  /** `helm upgrade --install` of one of the third-party charts the guides use, reduced to its effects. */
  installThirdParty(release: string, chart: string, namespace: string, sets: Record<string, string>): void {
    const [repo, name] = chart.split("/");
    if (!repo || !name || !this.repos.has(repo))
      throw new Error(`repo ${repo} not found: run \`helm repo add ${repo} <url>\` first`);
    const deploy = (n: string, labels: Labels = {}) =>
      this.add({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: n, namespace, labels } });
    if (name === "kube-prometheus-stack") {
      for (const api of MONITORING_APIS) this.apis.add(api);
      this.prometheusSelector = { release };
      deploy(`${release}-operator`);
      deploy(`${release}-grafana`);
      this.add({ apiVersion: "v1", kind: "Service", metadata: { name: `${release}-grafana`, namespace } });
      for (const crd of ["servicemonitors", "podmonitors", "prometheusrules"])
        this.add({
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name: `${crd}.monitoring.coreos.com`, namespace: "" },
        });
    } else if (name === "keda") {
      for (const api of KEDA_APIS) this.apis.add(api);
      deploy("keda-operator");
      deploy("keda-operator-metrics-apiserver");
      for (const crd of ["scaledobjects", "triggerauthentications", "scaledjobs"])
        this.add({
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name: `${crd}.keda.sh`, namespace: "" },
        });
      if (sets["prometheus.operator.serviceMonitor.enabled"] === "true") {
        this.requireApi("monitoring.coreos.com/v1", "ServiceMonitor");
        const labels: Labels = {};
        for (const [k, v] of Object.entries(sets)) {
          const m = /^prometheus\.operator\.serviceMonitor\.additionalLabels\.(.+)$/.exec(k);
          if (m) labels[m[1]!] = v;
        }
        this.add({
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: { name: "keda-operator", namespace, labels },
        });
      }
    } else throw new Error(`the simulation does not know the chart ${chart}`);
    this.releases.set(`${namespace}/${release}`, {
      name: release,
      namespace,
      chart,
      objects: [],
      values: sets,
    });
  }

  /** `helm upgrade --install` of our chart: really rendered, against the APIs installed so far. */
  async installOurs(release: string, namespace: string, args: string[]): Promise<void> {
    const capabilities = [...this.apis].flatMap((a) => ["--api-versions", a]);
    let rendered: string;
    try {
      rendered = (
        await helm(["template", release, CHART_DIR, "--namespace", namespace, ...capabilities, ...args])
      ).stdout;
    } catch (error) {
      throw new Error(((error as { stderr?: string }).stderr ?? String(error)).trim(), { cause: error });
    }
    const objects = parseManifests(rendered).map((o) => ({
      ...o,
      metadata: { ...o.metadata, namespace: o.metadata.namespace ?? namespace },
    })) as Obj[];
    for (const o of objects) {
      const api = Object.values(KINDS).find((k) => k.kind === o.kind)?.api;
      this.requireApi(api, o.kind);
      if (!o.metadata.annotations?.["helm.sh/hook"]) this.add(o);
    }
    const values = this.valuesOf(args);
    this.releases.set(`${namespace}/${release}`, {
      name: release,
      namespace,
      chart: "eventfleet",
      objects,
      values,
    });
    this.checkInstall(namespace, objects, values);
  }

  private valuesOf(args: string[]): Record<string, unknown> {
    const files: Record<string, unknown>[] = [];
    for (let i = 0; i < args.length; i++)
      if (args[i] === "-f" || args[i] === "--values")
        files.push(parse(readFileSync(join(ROOT, args[i + 1]!), "utf8")) as Record<string, unknown>);
    return Object.assign({}, ...files) as Record<string, unknown>;
  }

  /** What makes pods of a release fail although the render succeeded: secrets, scrape selection, KEDA metrics. */
  private checkInstall(namespace: string, objects: Obj[], values: Record<string, unknown>): void {
    const secretKeys = (name: string) => {
      const s = this.find("Secret", namespace, name)[0];
      if (!s)
        throw new Error(`Secret ${namespace}/${name} does not exist: pods referencing it would not start`);
      return Object.keys(s.data ?? {});
    };
    for (const d of objects.filter((o) => o.kind === "Deployment")) {
      const pod = (d.spec as { template: { spec: PodSpec } }).template.spec;
      for (const c of pod.containers)
        for (const from of c.envFrom ?? []) if (from.secretRef) secretKeys(from.secretRef.name);
      for (const v of pod.volumes ?? []) {
        if (!v.secret) continue;
        const keys = secretKeys(v.secret.secretName);
        for (const item of v.secret.items ?? [])
          if (!keys.includes(item.key))
            throw new Error(`Secret ${v.secret.secretName} has no key ${item.key}`);
      }
    }
    const aws = (values.aws ?? {}) as { enabled?: boolean };
    const existing = values.existingSecret as string | undefined;
    if (
      aws.enabled !== false &&
      !(values.redis as { url?: string } | undefined)?.url &&
      existing &&
      !secretKeys(existing).includes("REDIS_URL")
    )
      throw new Error(`Secret ${existing} has no REDIS_URL: the order roles would exit at start`);
    const monitoring = objects.filter((o) =>
      ["ServiceMonitor", "PodMonitor", "PrometheusRule"].includes(o.kind),
    );
    for (const m of monitoring) {
      if (!this.prometheusSelector)
        throw new Error(`${m.kind} ${m.metadata.name}: no Prometheus installed to select it`);
      for (const [k, v] of Object.entries(this.prometheusSelector))
        if (m.metadata.labels?.[k] !== v)
          throw new Error(
            `${m.kind} ${m.metadata.name} lacks the label ${k}: ${v} that Prometheus selects on: nothing scrapes it`,
          );
    }
    if (objects.some((o) => o.kind === "PrometheusRule") && objects.some((o) => o.kind === "ScaledObject")) {
      const keda = this.find("ServiceMonitor", undefined, "keda-operator")[0];
      const selected =
        keda &&
        Object.entries(this.prometheusSelector ?? {}).every(([k, v]) => keda.metadata.labels?.[k] === v);
      if (!selected)
        throw new Error(
          "the release's KEDA and dead-letter alerts read KEDA's metrics, but no ServiceMonitor that Prometheus selects scrapes the KEDA operator",
        );
    }
  }

  /** `helm test`: the test pod's call to the API must pass the NetworkPolicies. */
  helmTest(release: string, namespace: string): void {
    const r = this.releases.get(`${namespace}/${release}`);
    if (!r) throw new Error(`release: not found (${namespace}/${release})`);
    const tests = r.objects.filter((o) => o.metadata.annotations?.["helm.sh/hook"] === "test");
    const api = r.objects.find(
      (o) => o.kind === "Deployment" && o.metadata.labels?.["app.kubernetes.io/component"] === "api",
    );
    const policies = r.objects.filter((o) => o.kind === "NetworkPolicy") as NetworkPolicy[];
    for (const t of tests) {
      if (!api) throw new Error(`test ${t.metadata.name} has no API to call`);
      const from = podEndpoint(t as unknown as Parameters<typeof podEndpoint>[0], namespace);
      const to = podEndpoint(
        (api.spec as { template: Parameters<typeof podEndpoint>[0] }).template,
        namespace,
      );
      if (!canConnect(policies, from, to, "management"))
        throw new Error(
          `helm test: ${t.metadata.name} may not reach the API's management port (NetworkPolicy)`,
        );
    }
  }

  /** The `eventfleet` command run in a pod: it needs its variables in the pod and an identity on its account. */
  checkEventfleetInPod(pod: Obj, args: string[]): void {
    const spec = pod.spec as PodSpec & { serviceAccountName?: string };
    const env = new Set((spec.containers[0]?.env ?? []).map((e) => e.name));
    const sa = this.find("ServiceAccount", pod.metadata.namespace, spec.serviceAccountName)[0];
    const need = (names: string[], identity: string) => {
      const missing = names.filter((n) => !env.has(n));
      if (missing.length)
        throw new Error(
          `eventfleet ${args.join(" ")} in ${pod.metadata.name}: the pod lacks ${missing.join(", ")}`,
        );
      if (!sa?.metadata.annotations?.[identity])
        throw new Error(
          `eventfleet ${args.join(" ")} in ${pod.metadata.name}: its ServiceAccount has no ${identity} (no rights)`,
        );
    };
    if (args[0] === "dlq") {
      const workers =
        args[1] === "stats" ? ["INVENTORY", "SHIPMENT", "NOTIFICATION"] : [(args[2] ?? "").toUpperCase()];
      need(
        ["AWS_REGION", ...workers.flatMap((w) => [`${w}_QUEUE_URL`, `${w}_DLQ_URL`])],
        "eks.amazonaws.com/role-arn",
      );
    } else if (args[0] === "deadletter") {
      need(["STORAGE_ACCOUNT_URL", "EVENTHUB_NAME"], "azure.workload.identity/client-id");
    }
  }
}

interface PodSpec {
  containers: {
    env?: { name: string }[];
    envFrom?: { secretRef?: { name: string } }[];
  }[];
  volumes?: { secret?: { secretName: string; items?: { key: string }[] } }[];
}

export { KINDS };
