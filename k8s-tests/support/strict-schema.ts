// Validates rendered objects offline against the Kubernetes, KEDA and Prometheus Operator schemas, and rejects
// fields the schema does not know. kubernetes-models' validators ignore unknown fields, so the object is wrapped in
// proxies that record which keys the validator reads: a key it never reads (in an object it does not iterate as
// a map) is not part of the schema — a typo such as `minReplicaCont` or a container `resource:` key.
import * as apps from "kubernetes-models/apps/v1";
import * as autoscaling from "kubernetes-models/autoscaling/v2";
import * as core from "kubernetes-models/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as keda from "@kubernetes-models/keda/keda.sh/v1alpha1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

interface Validatable {
  prototype: { validate(this: unknown): void };
}

const MODELS: Record<string, Validatable> = {
  "v1/ServiceAccount": core.ServiceAccount,
  "v1/Service": core.Service,
  "v1/ConfigMap": core.ConfigMap,
  "v1/Pod": core.Pod,
  "apps/v1/Deployment": apps.Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": autoscaling.HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": policy.PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": networking.NetworkPolicy,
  "networking.k8s.io/v1/Ingress": networking.Ingress,
  "keda.sh/v1alpha1/ScaledObject": keda.ScaledObject,
  "keda.sh/v1alpha1/TriggerAuthentication": keda.TriggerAuthentication,
  "monitoring.coreos.com/v1/ServiceMonitor": monitoring.ServiceMonitor,
  "monitoring.coreos.com/v1/PodMonitor": monitoring.PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": monitoring.PrometheusRule,
};

export interface TypedObject {
  apiVersion?: unknown;
  kind?: unknown;
}

interface Tracker {
  proxy: unknown;
  read: WeakMap<object, Set<string>>;
  iterated: WeakSet<object>;
}

function track(root: unknown): Tracker {
  const read = new WeakMap<object, Set<string>>();
  const iterated = new WeakSet<object>();
  const proxies = new WeakMap<object, unknown>();
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    const known = proxies.get(value);
    if (known) return known;
    const keys = new Set<string>();
    read.set(value, keys);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") keys.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === "string") keys.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        iterated.add(target);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  return { proxy: wrap(root), read, iterated };
}

function unknownFields(value: unknown, tracker: Tracker, path: string, out: string[]): void {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownFields(item, tracker, `${path}[${i}]`, out));
    return;
  }
  const read = tracker.read.get(value);
  const isMap = tracker.iterated.has(value);
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childPath = path ? `${path}.${key}` : key;
    if (!isMap && !read?.has(key)) out.push(`${childPath}: unknown field "${key}"`);
    else unknownFields(child, tracker, childPath, out);
  }
}

/** Problems with one object: schema violations and unknown fields, each naming the path. Empty when valid. */
export function validateStrict(object: TypedObject): string[] {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  const model = MODELS[key];
  if (!model) return [`${key}: no schema known for this kind (add it to k8s-tests/support/strict-schema.ts)`];
  const tracker = track(object);
  const problems: string[] = [];
  try {
    model.prototype.validate.call(tracker.proxy);
  } catch (error) {
    problems.push(`schema: ${(error as Error).message}`);
  }
  unknownFields(object, tracker, "", problems);
  return problems;
}

export const SUPPORTED_KINDS = Object.keys(MODELS);
