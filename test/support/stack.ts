// The emulator stack for tests: started once per run (global setup) or reused, plus uniquely named resources per test.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "../../shared/config.ts";
import { applyInfra, infraEnv, resourceEnv, type ApplyOutcome } from "../../shared/topology/infra-apply.ts";
import { canConnect } from "../../dev/stack/managed-process.ts";
import { readStackEnv } from "../../dev/stack/stack-env.ts";
import { startStack, type Stack } from "../../dev/stack/stack.ts";

import { ROOT } from "./repo-root.ts";

export { ROOT };
/** Set by the global setup for every test process of a run. */
export const STACK_ENV_VARIABLE = "EVENTFLEET_TEST_STACK_ENV";

export interface TestStack {
  /** Endpoints of the shared emulators (ARCHITECTURE.md §3 names). */
  env: Record<string, string>;
}

let ownStack: Promise<Stack> | undefined;
let cached: Promise<TestStack> | undefined;

async function reachable(env: Record<string, string>): Promise<boolean> {
  const ports = [env.REDIS_URL, env.AWS_ENDPOINT_URL, env.COSMOS_ENDPOINT].map((u) =>
    u ? Number(new URL(u).port) : 0,
  );
  const results = await Promise.all(ports.map((p) => (p ? canConnect(p) : Promise.resolve(false))));
  return results.every(Boolean);
}

/** Starts emulators (no roles) on free ports, for a run or for one test file run on its own. */
export function startTestStack(
  stateDir = mkdtempSync(join(tmpdir(), "eventfleet-test-stack-")),
): Promise<Stack> {
  return startStack({ root: ROOT, stateDir, standardPorts: false, emulatorsOnly: true, envName: "shared" });
}

/**
 * The run's stack: the one the global setup started, else a running `eventfleet dev` (.eventfleet/stack.env), else
 * one started for this process and stopped when it exits.
 */
export function getStack(): Promise<TestStack> {
  cached ??= (async () => {
    const fromSetup = process.env[STACK_ENV_VARIABLE];
    if (fromSetup) return { env: readStackEnv(fromSetup) };
    const devFile = join(ROOT, ".eventfleet/stack.env");
    if (existsSync(devFile)) {
      const env = readStackEnv(devFile);
      if (await reachable(env)) return { env };
    }
    ownStack = startTestStack();
    const stack = await ownStack;
    // A test file run on its own must still exit when its tests end: the emulators must not hold its event loop.
    for (const emulator of stack.emulators) emulator.process.unref();
    const pids = [...stack.emulators.map((e) => e.process.pid)];
    process.once("exit", () => {
      for (const pid of pids) if (pid) process.kill(pid, "SIGTERM");
    });
    return { env: stack.env };
  })();
  return cached;
}

export interface TestEnvOptions {
  /** Provision the SNS topic, queues, DLQs and subscriptions (default true). */
  aws?: boolean;
  /** Provision blob containers, the storage queue, the Cosmos database (default false). */
  azure?: boolean;
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

export interface TestEnv {
  env: Record<string, string>;
  outcome: ApplyOutcome;
}

/** A unique EVENTFLEET_ENV with its own freshly provisioned resources, so tests never see each other's data. */
export async function createTestEnv(options: TestEnvOptions = {}): Promise<Record<string, string>> {
  return (await createTestEnvWithOutcome(options)).env;
}

export async function createTestEnvWithOutcome(options: TestEnvOptions = {}): Promise<TestEnv> {
  const { env: stackEnv } = await getStack();
  const name = `t${randomBytes(5).toString("hex")}`;
  const base: Record<string, string> = { ...stackEnv, EVENTFLEET_ENV: name };
  if (options.maxReceiveCount) base.SQS_MAX_RECEIVE_COUNT = String(options.maxReceiveCount);
  if (options.visibilityTimeoutSeconds !== undefined) {
    base.SQS_VISIBILITY_TIMEOUT_SECONDS = String(options.visibilityTimeoutSeconds);
  }
  delete base.COSMOS_DATABASE;
  const config = parseEnv(infraEnv, base);
  const outcome = await applyInfra(config, {
    aws: options.aws ?? true,
    azure: options.azure ?? false,
    report: () => undefined,
  });
  return { env: { ...base, ...resourceEnv(outcome), LOG_LEVEL: "warn" }, outcome };
}
