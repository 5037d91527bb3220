// Live tier (`make k8s-test-live`, part of `make test`): the chart against a real kube-apiserver and a real KEDA.
//
// Local (the default): starts the emulators and the local cluster (dev/cluster: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, KEDA operator + metrics API server, built from Go modules once per
// machine), runs the tests of k8s-tests/live/ against them, and stops everything by PID. The cluster first comes up
// without KEDA, for the tests that need its API absent (PHASE_WITHOUT_KEDA); then the deploy guides' cluster-side
// step (KEDA and its CRDs, the Prometheus Operator CRDs) is taken and the rest run.
//
// External: EVENTFLEET_LIVE_KUBECONFIG=<kubeconfig> runs the tests against that cluster (kind, EKS, AKS; KEDA
// installed). Tests that need KEDA to reach the local emulators skip there (k8s-tests/README.md).
//
// Exit code: node --test's (0 when every test passed).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { startCluster, type LocalCluster } from "../../dev/cluster/cluster.ts";
import { aliasHubOnDefaultPort, type HubAlias } from "../../dev/cluster/hub-endpoint.ts";
import { startStack, type Stack } from "../../dev/stack/stack.ts";
import { KEDA_TEST_NAMESPACE, LIVE_ENV_NAME } from "./live-env.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const LIVE_DIR = join(ROOT, "k8s-tests/live");
/** Test files that need a cluster without the KEDA API. */
const PHASE_WITHOUT_KEDA = ["k8s-tests/live/without-keda.test.ts"];

function step(message: string): void {
  process.stderr.write(`k8s-test-live: ${message}\n`);
}

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--test", "--test-concurrency=1", "--test-timeout=900000", ...files],
    { cwd: ROOT, stdio: "inherit", env },
  );
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** The files named on the command line (`node k8s-tests/live/run.ts <file>...`), else every live test. */
const chosen = process.argv.slice(2).map((f) => relative(ROOT, resolve(f)));

function liveTestFiles(): string[] {
  return readdirSync(LIVE_DIR)
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => `k8s-tests/live/${f}`)
    .filter((f) => !PHASE_WITHOUT_KEDA.includes(f) && (chosen.length === 0 || chosen.includes(f)))
    .sort();
}

function withoutKedaFiles(): string[] {
  return PHASE_WITHOUT_KEDA.filter((f) => chosen.length === 0 || chosen.includes(f));
}

async function runLocal(): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), "eventfleet-live-"));
  const started = Date.now();
  let stack: Stack | undefined;
  let cluster: LocalCluster | undefined;
  let hub: HubAlias | undefined;
  const stopAll = async () => {
    await cluster?.stop();
    await hub?.close();
    await stack?.stop();
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(143)));
  try {
    step(`state and logs in ${stateDir}`);
    [stack, cluster] = await Promise.all([
      startStack({ root: ROOT, stateDir, standardPorts: false, emulatorsOnly: true, envName: LIVE_ENV_NAME }),
      // KEDA acts only where the scaling tests expect it: the ci profiles installed elsewhere name cloud identities
      // (IRSA, Workload Identity) that KEDA would otherwise try to use, reaching outside this machine.
      startCluster({
        root: ROOT,
        stateDir,
        keda: false,
        kedaNamespaces: [KEDA_TEST_NAMESPACE],
        progress: step,
      }),
    ]);
    step(`emulators and control plane up in ${Math.round((Date.now() - started) / 1000)} s`);
    // The hub on the AMQP default port, so KEDA and the worker name its checkpoints alike (hub-endpoint.ts).
    hub = await aliasHubOnDefaultPort(stack.env.EVENTHUB_CONNECTION_STRING!);
    const hubEnv = { EVENTHUB_CONNECTION_STRING: hub.connectionString };
    const env = () => ({
      ...process.env,
      ...stack!.env,
      ...cluster!.env,
      ...hubEnv,
      EVENTFLEET_LIVE: "local",
    });
    const first = withoutKedaFiles().length > 0 ? await runTests(withoutKedaFiles(), env()) : 0;
    step("installing KEDA and the CRDs (the deploy guides' cluster-side step)");
    await cluster.addKeda();
    const second = liveTestFiles().length > 0 ? await runTests(liveTestFiles(), env()) : 0;
    step(`done in ${Math.round((Date.now() - started) / 1000)} s`);
    return first || second;
  } catch (error) {
    step(`FAILED: ${(error as Error).message}`);
    step(`logs: ${join(stateDir, "logs")}`);
    return 1;
  } finally {
    await stopAll();
  }
}

async function runExternal(kubeconfig: string): Promise<number> {
  step(`against ${kubeconfig} (KEDA must be installed; the emulator-backed tests skip)`);
  return runTests(liveTestFiles(), { ...process.env, KUBECONFIG: kubeconfig, EVENTFLEET_LIVE: "external" });
}

const external = process.env.EVENTFLEET_LIVE_KUBECONFIG;
process.exit(external ? await runExternal(external) : await runLocal());
