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
import { forwardEmulatorsToPods, type PodEndpoints } from "../../dev/cluster/pod-endpoints.ts";
import { startStack, type Stack } from "../../dev/stack/stack.ts";
import { KEDA_TEST_NAMESPACE, LIVE_ENV_NAME } from "./live-env.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const LIVE_DIR = join(ROOT, "k8s-tests/live");
/** Test files that need a cluster without the KEDA API. */
const PHASE_WITHOUT_KEDA = ["k8s-tests/live/without-keda.test.ts"];
/**
 * Test files that run pods: after the others, once the node is up (the KEDA tests expect pods that never run, and
 * the chart-install profiles name images from registries this machine cannot reach).
 */
const PHASE_WITH_NODE = [
  "k8s-tests/live/order-flow.test.ts",
  "k8s-tests/live/rolling-restart.test.ts",
  "k8s-tests/live/guides-live.test.ts",
];

function step(message: string): void {
  process.stderr.write(`k8s-test-live: ${message}\n`);
}

/** The running `node --test`, so a signal to the runner stops it too (with the helm it runs). */
let testChild: ReturnType<typeof spawn> | undefined;

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--test", "--test-concurrency=1", "--test-timeout=900000", ...files],
    // Its own process group: a signal to the runner then reaches the test process and what it spawned.
    { cwd: ROOT, stdio: "inherit", env, detached: true },
  );
  testChild = child;
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** The files named on the command line (`node k8s-tests/live/run.ts <file>...`), else every live test. */
const chosen = process.argv.slice(2).map((f) => relative(ROOT, resolve(f)));

function liveTestFiles(): string[] {
  return readdirSync(LIVE_DIR)
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => `k8s-tests/live/${f}`)
    .filter(
      (f) =>
        !PHASE_WITHOUT_KEDA.includes(f) &&
        !PHASE_WITH_NODE.includes(f) &&
        (chosen.length === 0 || chosen.includes(f)),
    )
    .sort();
}

function phaseFiles(phase: string[]): string[] {
  return phase.filter((f) => chosen.length === 0 || chosen.includes(f));
}

/**
 * Starts the node and forwards the emulators to the pod network; the variables the node tests get (the emulators as
 * pods reach them), or EVENTFLEET_LIVE_NO_NODE with the reason the node could not start (those tests then skip).
 */
async function startNode(
  cluster: LocalCluster,
  stackEnv: Record<string, string>,
): Promise<{ env: Record<string, string>; pods?: PodEndpoints }> {
  const began = Date.now();
  try {
    const node = await cluster.addNode();
    const pods = await forwardEmulatorsToPods(stackEnv, node.network.gateway);
    step(`emulators forwarded to the pods: ${pods.forwards.join(", ")}`);
    step(`node up in ${Math.round((Date.now() - began) / 1000)} s`);
    const env: Record<string, string> = { ...pods.env, EVENTFLEET_LIVE_NODE: node.name };
    if (node.appImage.missing) env.EVENTFLEET_LIVE_NO_IMAGE = node.appImage.missing;
    return { env, pods };
  } catch (error) {
    const reason = (error as Error).message;
    step(`NO NODE (the tests that run pods skip): ${reason}`);
    return { env: { EVENTFLEET_LIVE_NO_NODE: reason } };
  }
}

async function runLocal(): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), "eventfleet-live-"));
  const started = Date.now();
  let stack: Stack | undefined;
  let cluster: LocalCluster | undefined;
  let hub: HubAlias | undefined;
  let pods: PodEndpoints | undefined;
  const stopAll = async () => {
    const stopping = Date.now();
    await cluster?.stop();
    if (cluster?.node)
      step(`cluster with its node stopped in ${Math.round((Date.now() - stopping) / 1000)} s`);
    await pods?.close();
    await hub?.close();
    await stack?.stop();
  };
  const onSignal = (code: number) => {
    if (testChild?.pid && testChild.exitCode === null) {
      try {
        process.kill(-testChild.pid, "SIGTERM");
      } catch {
        // gone already
      }
    }
    void stopAll().then(() => process.exit(code));
  };
  process.once("SIGINT", () => onSignal(130));
  process.once("SIGTERM", () => onSignal(143));
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
    const withoutKeda = phaseFiles(PHASE_WITHOUT_KEDA);
    const first = withoutKeda.length > 0 ? await runTests(withoutKeda, env()) : 0;
    step("installing KEDA and the CRDs (the deploy guides' cluster-side step)");
    await cluster.addKeda();
    const second = liveTestFiles().length > 0 ? await runTests(liveTestFiles(), env()) : 0;
    let third = 0;
    const withNode = phaseFiles(PHASE_WITH_NODE);
    if (withNode.length > 0) {
      step("starting the node (containerd, kubelet; built from Go modules) for the tests that run pods");
      const node = await startNode(cluster, stack.env);
      pods = node.pods;
      third = await runTests(withNode, { ...env(), ...node.env });
    }
    step(`done in ${Math.round((Date.now() - started) / 1000)} s`);
    return first || second || third;
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
