// Renders the chart with the helm binary from .tools (scripts/install-helm.sh) and parses the output.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, "../..");
export const CHART_DIR = join(ROOT, "helm/eventfleet");
export const HELM = process.env.HELM_BIN ?? join(ROOT, ".tools/bin/helm");
export const PROFILES = ["minimal", "aws-only", "azure-only", "full"] as const;
export type Profile = (typeof PROFILES)[number];
export const RELEASE = "ef";
export const NAMESPACE = "eventfleet";

/** What the cluster is assumed to serve: KEDA and the Prometheus Operator CRDs. */
export const API_VERSIONS = [
  "keda.sh/v1alpha1",
  "keda.sh/v1alpha1/ScaledObject",
  "keda.sh/v1alpha1/TriggerAuthentication",
  "monitoring.coreos.com/v1",
  "monitoring.coreos.com/v1/ServiceMonitor",
  "monitoring.coreos.com/v1/PodMonitor",
  "monitoring.coreos.com/v1/PrometheusRule",
];

/** A rendered Kubernetes object: only what every object has is typed; the rest is checked by the tests. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export function helmMissingReason(): string | undefined {
  return existsSync(HELM) ? undefined : `${HELM} is missing: run 'make tools' (scripts/install-helm.sh)`;
}

export async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(HELM, args, {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, HELM_CACHE_HOME: "/tmp/helm-cache" },
  });
}

/** Which release `helm template` renders: name and namespace. */
export interface Release {
  name: string;
  namespace: string;
}

/** `helm template` with a profile and extra `--set`s; rejects with helm's stderr on a render or schema error. */
export async function template(
  profile: Profile | undefined,
  sets: string[] = [],
  extra: string[] = [],
  release: Release = { name: RELEASE, namespace: NAMESPACE },
): Promise<string> {
  const args = ["template", release.name, CHART_DIR, "--namespace", release.namespace];
  for (const v of API_VERSIONS) args.push("--api-versions", v);
  if (profile) args.push("-f", join(CHART_DIR, "ci", `${profile}.yaml`));
  for (const s of sets) args.push("--set", s);
  args.push(...extra);
  const { stdout } = await helm(args);
  return stdout;
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
      return doc.toJS() as unknown;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === "object");
}

const cache = new Map<string, Promise<K8sObject[]>>();

/** Rendered objects of a profile (memoised per test process: rendering is the slow part). */
export function render(profile: Profile, sets: string[] = []): Promise<K8sObject[]> {
  const key = `${profile}|${sets.join(",")}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = template(profile, sets).then(parseManifests);
    cache.set(key, hit);
  }
  return hit;
}

/** The error helm prints when it refuses the values (schema) or a template `fail`s. */
export async function renderError(profile: Profile | undefined, sets: string[]): Promise<string> {
  try {
    await template(profile, sets);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    return stderr ?? String(error);
  }
  throw new Error(`helm template accepted ${sets.join(" ")} (expected a rejection)`);
}

export function byKind<T = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}
