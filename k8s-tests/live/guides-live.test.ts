// With the local node: each deploy guide's cluster-side steps (docs/deploy-eks.md, docs/deploy-aks.md) run for real,
// in page order, by `node k8s-tests/guides/run.ts <guide>` with KUBECONFIG — namespace, labels, Secrets,
// `make deploy` (helm upgrade --install --wait + helm test), the checks after it. Cloud CLI steps (aws, az) are not
// run, KEDA and the Prometheus Operator CRDs are already installed (EVENTFLEET_GUIDE_SKIP_THIRD_PARTY), the guide's
// values get deploy/local.yaml and this run's emulators on top, and its image is the node's imported one.
// Both guides use namespace and release `eventfleet`: they run one after the other, each cleaned up before the next.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { waitFor } from "../../test/support/wait.ts";
import { APP_IMAGE } from "../../dev/cluster/node-images.ts";
import { localSecretData, LOCAL_SECRET } from "../../dev/cluster/local-secret.ts";
import { helmMissingReason, ROOT } from "../support/chart.ts";
import { clients, LIVE_ENV_NAME, liveHelm, LOCAL_VALUES, needsLocalNode } from "./live-env.ts";

/** The namespace and release both guides name. */
const GUIDE_NAMESPACE = "eventfleet";
/**
 * Each guide, and the Secret its release reads: the EKS guide's own `eventfleet-secrets` (its other keys, e.g.
 * NOTIFY_WEBHOOK_SECRET, kept; the emulators' endpoints and keys written over it), the AKS guide has none (Workload
 * Identity) and gets deploy/local.yaml's.
 */
const GUIDES = [
  { guide: "docs/deploy-eks.md", secret: "eventfleet-secrets" },
  { guide: "docs/deploy-aks.md", secret: LOCAL_SECRET },
];
const KUBECTL = join(ROOT, ".tools/bin/kubectl");
const skip =
  helmMissingReason() ??
  (existsSync(KUBECTL) ? undefined : `${KUBECTL} is missing: run 'make tools' (scripts/install-helm.sh)`) ??
  needsLocalNode();
const dir = mkdtempSync(join(tmpdir(), "ef-guides-live-"));

/** The emulators' endpoints and keys as the pods reach them, into `name`; applied just before the guide's deploy. */
function localSecretFile(name: string): string {
  const file = join(dir, `${name}.json`);
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name },
    type: "Opaque",
    stringData: localSecretData(process.env as Record<string, string>),
  };
  writeFileSync(file, JSON.stringify(secret));
  return file;
}

/**
 * Over the guide's values and deploy/local.yaml: this run's emulators (free ports, on the pod network's gateway), and
 * what this machine cannot give the production values — no ingress controller (the guide's ALB: deploy/local.yaml
 * turns API authentication off, which the chart refuses behind an ingress), and the emulator's hub has 4 partitions
 * where the AKS guide's has 8 (the chart refuses more device-ingest replicas than partitions).
 */
function runValuesFile(secret: string): string {
  const file = join(dir, `values-${secret}.json`);
  const endpoint = process.env.AWS_ENDPOINT_URL;
  assert.ok(endpoint, "AWS_ENDPOINT_URL from the live runner");
  const values = {
    environment: LIVE_ENV_NAME,
    existingSecret: secret,
    aws: { endpointUrl: endpoint },
    api: { ingress: { enabled: false } },
    deviceIngest: { keda: { maxReplicaCount: 4 } },
  };
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** `node k8s-tests/guides/run.ts <guide>` against the live cluster: exit code and output. */
function followGuideLive(guide: string, secret: string): Promise<{ code: number; output: string }> {
  const env = {
    ...process.env,
    EVENTFLEET_GUIDE_EXTRA_VALUES: [LOCAL_VALUES, runValuesFile(secret)].join(","),
    EVENTFLEET_GUIDE_SKIP_THIRD_PARTY: "1",
    EVENTFLEET_GUIDE_IMAGE: APP_IMAGE,
    EVENTFLEET_GUIDE_BEFORE_DEPLOY: `kubectl -n ${GUIDE_NAMESPACE} apply -f ${localSecretFile(secret)}`,
  };
  const child = spawn(process.execPath, ["k8s-tests/guides/run.ts", guide], { cwd: ROOT, env });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code: code ?? 1, output })));
}

/** Uninstalls what a guide installed and waits until its namespace is gone, so the next guide starts afresh. */
async function cleanUp(): Promise<void> {
  await liveHelm(["uninstall", "eventfleet", "-n", GUIDE_NAMESPACE, "--wait"]).catch(() => undefined);
  const { core } = clients();
  await core.deleteNamespace({ name: GUIDE_NAMESPACE }).catch(() => undefined);
  await waitFor(
    async () => !(await core.listNamespace()).items.some((n) => n.metadata?.name === GUIDE_NAMESPACE),
    { timeoutMs: 180_000, intervalMs: 500, description: `namespace ${GUIDE_NAMESPACE} deleted` },
  );
}

after(async () => {
  if (!skip) await cleanUp();
});

for (const { guide, secret } of GUIDES) {
  test(`${guide}: every cluster-side step works on the live cluster, in page order`, { skip }, async (t) => {
    if (skip) return t.skip(skip);
    await cleanUp();
    const began = Date.now();
    const { code, output } = await followGuideLive(guide, secret);
    t.diagnostic(`${guide} followed in ${Math.round((Date.now() - began) / 1000)} s`);
    assert.equal(code, 0, `${guide} failed on the live cluster:\n${output.slice(-6000)}`);
  });
}
