// The local stack: every emulator as its own process, provisioned by `infra apply`, then every role as its own process.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "../../shared/config.ts";
import { formatApplyResult, type ApplyResult } from "../../shared/topology/apply-report.ts";
import { applyInfra, infraEnv, resourceEnv } from "../../shared/topology/infra-apply.ts";
import {
  eventHubsEmulatorAvailable,
  startAzurite,
  startCosmos,
  startEventHubs,
  startFauxqs,
  startRedis,
  type EmulatorContext,
  type RunningEmulator,
} from "./emulators.ts";
import { startJaegerForStack } from "../jaeger/jaeger.ts";
import { ManagedProcess } from "./managed-process.ts";
import { choosePort } from "./ports.ts";
import { writeStackEnv } from "./stack-env.ts";

/** Where the stack's Redis keeps its append-only file (created on first use). */
function redisDataDir(stateDir: string): string {
  const dir = join(stateDir, "redis");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface StackOptions {
  /** The repository root (where bin/eventfleet.js is). */
  root: string;
  /** Where stack.env and logs go. */
  stateDir: string;
  standardPorts: boolean;
  emulatorsOnly: boolean;
  envName?: string;
  region?: string;
  /** Called with each line worth showing a person while the stack comes up. */
  progress?: (line: string) => void;
}

interface RoleSpec {
  name: string;
  args: string[];
  /** The module that exists once the role is built. */
  module: string;
  standardPort: number;
  apiPort?: number;
}

const ROLES: RoleSpec[] = [
  { name: "api", args: ["api"], module: "api/main.ts", standardPort: 9464, apiPort: 8080 },
  {
    name: "inventory",
    args: ["worker", "inventory"],
    module: "workers/inventory/main.ts",
    standardPort: 9465,
  },
  { name: "shipment", args: ["worker", "shipment"], module: "workers/shipment/main.ts", standardPort: 9466 },
  {
    name: "notification",
    args: ["worker", "notification"],
    module: "workers/notification/main.ts",
    standardPort: 9467,
  },
  {
    name: "device-ingest",
    args: ["worker", "device-ingest"],
    module: "workers/device-ingest/main.ts",
    standardPort: 9468,
  },
];

export interface RunningRole {
  name: string;
  process: ManagedProcess;
  managementUrl: string;
}

export interface Stack {
  env: Record<string, string>;
  envFile: string;
  emulators: RunningEmulator[];
  roles: RunningRole[];
  applyLines: string[];
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const say = options.progress ?? (() => undefined);
  const logDir = join(options.stateDir, "logs");
  const ctx: EmulatorContext = { root: options.root, logDir, standardPorts: options.standardPorts };
  const region = options.region ?? "us-east-1";
  const emulators: RunningEmulator[] = [];
  const roles: RunningRole[] = [];

  const stop = async () => {
    // Roles first (they drain into the emulators), then the emulators, all by the PIDs we started.
    await Promise.all(roles.map((r) => r.process.stop(8000)));
    await Promise.all(emulators.map((e) => e.process.stop(3000)));
  };

  try {
    const starts: Promise<RunningEmulator>[] = [
      // AOF on, as production must run Redis: a restart of the stack's Redis keeps orders and the outbox.
      startRedis(ctx, { appendOnly: true, dataDir: redisDataDir(options.stateDir) }),
      startFauxqs(ctx, region),
      startAzurite(ctx),
      startCosmos(ctx),
    ];
    // The trace backend: only with roles (tests start their own Jaeger where they need one). Without Go it cannot
    // be built: the stack runs on, untraced.
    const jaegerStart = options.emulatorsOnly
      ? Promise.resolve(undefined)
      : startJaegerForStack({
          root: options.root,
          stateDir: options.stateDir,
          standardPorts: options.standardPorts,
        }).catch((error: unknown) => {
          say(`jaeger: not started, roles run without tracing: ${(error as Error).message}`);
          return undefined;
        });
    if (eventHubsEmulatorAvailable(options.root)) starts.push(startEventHubs(ctx));
    else
      say(
        "eventhubs: the emulator (dev/eventhubs-emulator) is not in this checkout yet; device flow skipped",
      );
    const settled = await Promise.allSettled(starts);
    const jaeger = await jaegerStart;
    if (jaeger) emulators.push(jaeger);
    for (const result of settled) if (result.status === "fulfilled") emulators.push(result.value);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    // Where each one listens is in the launcher's summary (and stack.env): listed once, not here too.
    say(`${emulators.length} emulators running`);

    const endpointEnv: Record<string, string> = {};
    for (const emulator of emulators) Object.assign(endpointEnv, emulator.env);
    endpointEnv.EVENTFLEET_ENV = options.envName ?? "dev";
    const config = parseEnv(infraEnv, endpointEnv);
    const applyLines: string[] = [];
    const outcome = await applyInfra(config, {
      report: (result: ApplyResult) => applyLines.push(formatApplyResult(result)),
    });
    say(`provisioned ${applyLines.length} resources with infra apply`);

    const env: Record<string, string> = { ...endpointEnv, ...resourceEnv(outcome) };
    if (!options.emulatorsOnly) {
      for (const spec of ROLES.filter((r) => existsSync(join(options.root, r.module)))) {
        if (spec.name === "device-ingest" && !env.EVENTHUB_CONNECTION_STRING) continue;
        const managementPort = await choosePort(options.standardPorts ? spec.standardPort : undefined);
        const roleEnv: Record<string, string> = { ...env, MANAGEMENT_PORT: String(managementPort) };
        if (jaeger) roleEnv.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpEndpoint;
        if (spec.apiPort !== undefined) {
          const apiPort = await choosePort(options.standardPorts ? spec.apiPort : undefined);
          roleEnv.API_PORT = String(apiPort);
          env.API_URL = `http://127.0.0.1:${apiPort}`;
        }
        const process = new ManagedProcess({
          name: spec.name,
          command: globalThis.process.execPath,
          args: [join(options.root, "bin/eventfleet.js"), ...spec.args],
          env: {
            ...globalThis.process.env,
            ...roleEnv,
            LOG_LEVEL: globalThis.process.env.LOG_LEVEL ?? "info",
          },
          logFile: join(logDir, `${spec.name}.log`),
        });
        const managementUrl = `http://127.0.0.1:${managementPort}`;
        roles.push({ name: spec.name, process, managementUrl });
        env[`${spec.name.toUpperCase().replaceAll("-", "_")}_MANAGEMENT_URL`] = managementUrl;
      }
    }
    const envFile = join(options.stateDir, "stack.env");
    writeStackEnv(envFile, env);
    // Every PID this stack owns, so a person (or a test) can check that nothing is left behind after a stop.
    const pids = [...emulators, ...roles].map((p) => ({ name: p.name, pid: p.process.pid }));
    writeFileSync(join(options.stateDir, "stack.pids.json"), `${JSON.stringify(pids, null, 2)}\n`);
    return { env, envFile, emulators, roles, applyLines, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
