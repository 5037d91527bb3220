// `eventfleet dev`: the whole system on local emulators in one command; Ctrl-C stops all of it.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { ClusterBesideStack } from "../dev/cluster/dev-cluster.ts";
import { readStackEnv } from "../dev/stack/stack-env.ts";

const STOP_BUDGET_MS = 10_000;

async function roleStatus(url: string, deadlineMs: number): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  let last = "starting";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return "ready";
      last = `not ready: ${await response.text()}`;
    } catch {
      last = "starting";
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

/** A second `eventfleet dev` on the same state directory: point at the running stack instead of starting another. */
function alreadyRunning(stateDir: string, given: string, holder: { pid: number; startedAt: string }): void {
  const envFile = join(stateDir, "stack.env");
  const env = existsSync(envFile) ? readStackEnv(envFile) : {};
  const lines = [
    `eventfleet dev: a stack is already running from ${given} (pid ${holder.pid}, started ${holder.startedAt}); not starting another`,
    `  use it:   set -a; . ${envFile}; set +a` + (env.API_URL ? `   (order API at ${env.API_URL})` : ""),
    `  stop it:  Ctrl-C in its terminal, or kill ${holder.pid}`,
    `  a second, separate stack: npx eventfleet dev --state-dir ${given.replace(/\/+$/, "")}-2 --any-ports`,
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}

export function registerDevCommands(program: Command): void {
  program
    .command("dev")
    .description("the whole system on local emulators, one command (Ctrl-C stops it)")
    .option(
      "--emulators-only",
      "start and provision only the emulators (run roles yourself from .eventfleet/stack.env)",
    )
    .option(
      "--any-ports",
      "take free ports instead of the standard ones (4566, 10000, 8081, 5672, 6379, 8080, 9464...)",
    )
    .option("--state-dir <dir>", "where stack.env and the logs go", ".eventfleet")
    .option("--env <name>", "EVENTFLEET_ENV prefix of the resources", "dev")
    .option(
      "--cluster",
      "also a local Kubernetes cluster: control plane, KEDA and a node when the machine allows (built from Go modules the first time; KUBECONFIG in stack.env)",
    )
    .action(
      async (options: {
        emulatorsOnly?: boolean;
        anyPorts?: boolean;
        stateDir: string;
        env: string;
        cluster?: boolean;
      }) => {
        const [{ startStack }, { acquireStackLock }] = await Promise.all([
          import("../dev/stack/stack.ts"),
          import("../dev/stack/stack-lock.ts"),
        ]);
        const root = resolve(import.meta.dirname, "..");
        const stateDir = resolve(options.stateDir);
        const out = (line: string) => process.stdout.write(`${line}\n`);
        const lock = acquireStackLock(stateDir);
        if (!lock.acquired) {
          alreadyRunning(stateDir, options.stateDir, lock.holder);
          process.exit(1);
        }
        process.once("exit", () => lock.release());
        out("eventfleet dev: starting the emulators…");
        let stack: Awaited<ReturnType<typeof startStack>>;
        try {
          stack = await startStack({
            root,
            stateDir,
            standardPorts: !options.anyPorts,
            emulatorsOnly: options.emulatorsOnly ?? false,
            envName: options.env,
            progress: (line) => out(`  ${line}`),
          });
        } catch (error) {
          process.stderr.write(
            `eventfleet dev: the stack did not start: ${(error as Error).message}\n` +
              `  logs: ${resolve(options.stateDir, "logs")}; redis-server missing? run \`make system-deps\` (as root)\n`,
          );
          process.exit(1);
        }
        let cluster: ClusterBesideStack | undefined;
        if (options.cluster) {
          out("eventfleet dev: starting the local Kubernetes cluster (etcd, kube-*, KEDA, a node)…");
          try {
            const { startClusterBeside } = await import("../dev/cluster/dev-cluster.ts");
            cluster = await startClusterBeside(stack, root, stateDir, (line) => out(`  ${line}`));
          } catch (error) {
            process.stderr.write(
              `eventfleet dev: the cluster did not start: ${(error as Error).message}\n` +
                `  logs: ${resolve(options.stateDir, "logs")}\n`,
            );
            await stack.stop();
            process.exit(1);
          }
        }

        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          out(`\neventfleet dev: ${signal}: stopping every process…`);
          const timer = setTimeout(
            () => {
              process.stderr.write("eventfleet dev: stop budget exceeded; processes were killed\n");
              process.exit(1);
            },
            STOP_BUDGET_MS * (cluster ? 3 : 1),
          );
          void (cluster?.stop() ?? Promise.resolve())
            .then(() => stack.stop())
            .then(() => {
              clearTimeout(timer);
              out("eventfleet dev: stopped");
              process.exit(0);
            });
        };
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGTERM", () => stop("SIGTERM"));

        const statuses = await Promise.all(
          stack.roles.map(async (r) => [r, await roleStatus(r.managementUrl, 30_000)] as const),
        );
        out("");
        out("eventfleet is running on local emulators:");
        for (const emulator of stack.emulators) out(`  ${emulator.name.padEnd(36)} ${emulator.where}`);
        for (const [role, status] of statuses) {
          out(
            `  ${`role ${role.name}`.padEnd(36)} ${role.managementUrl}/metrics  (${status}, pid ${role.process.pid})`,
          );
        }
        if (stack.roles.length === 0) out("  (no roles started: --emulators-only, or none is built yet)");
        if (cluster) {
          out(
            cluster.node
              ? `local Kubernetes cluster with node ${cluster.node.name} (pods run ${cluster.node.appImage.missing ? "nothing of ours: " + cluster.node.appImage.missing : cluster.node.appImage.image}):`
              : `local Kubernetes cluster (no node: ${cluster.noNode}; pods stay Pending, KEDA and the HPA still act on Deployments):`,
          );
          for (const p of [...cluster.processes, ...(cluster.node?.processes ?? [])])
            out(`  ${p.name.padEnd(36)} ${p.where}  (pid ${p.process.pid})`);
          out(`  kubeconfig                           ${cluster.kubeconfig}`);
          out(
            `  try: KUBECONFIG=${cluster.kubeconfig} .tools/bin/helm install eventfleet helm/eventfleet \\`,
          );
          out(
            `         -n eventfleet -f deploy/local.yaml ${cluster.podSets.join(" ")}   (k8s-tests/README.md)`,
          );
        }
        out("");
        out(`endpoints: ${stack.envFile}  (load them with: set -a; . ${stack.envFile}; set +a)`);
        out(`logs:      ${resolve(options.stateDir, "logs")}`);
        if (stack.env.API_URL) {
          out("try (seed stock, place an order, read it back: it reaches SHIPPED within a second):");
          out(
            `  curl -s -X PUT ${stack.env.API_URL}/v1/inventory/SKU-1 -H 'content-type: application/json' -d '{"available":100}'`,
          );
          out(
            `  curl -si -X POST ${stack.env.API_URL}/v1/orders -H 'content-type: application/json' -d ` +
              `'{"customerId":"c-1","currency":"EUR","items":[{"sku":"SKU-1","quantity":1,"unitPriceCents":1999}],` +
              `"shippingAddress":{"name":"Ada","line1":"1 Main St","city":"Berlin","postalCode":"10115","country":"DE"},` +
              `"contact":{"email":"ada@example.com"}}'`,
          );
          out(`  curl -s ${stack.env.API_URL}/v1/orders/<id from the Location header>`);
        }
        if (stack.env.EVENTHUB_CONNECTION_STRING) {
          out("device telemetry (fills Cosmos; --invalid-ratio feeds the dead-letter queue):");
          out(`  set -a; . ${stack.envFile}; set +a`);
          out(`  npx eventfleet simulate devices --devices 10 --rate 50 --count 500 --invalid-ratio 0.05`);
          out(`  npx eventfleet deadletter stats`);
        }
        out("Ctrl-C stops everything.");
      },
    );
}
