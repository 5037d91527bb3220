// The life of one long-running process: config, logger, metrics, management server, start, signals, drain, exit.
import type { Registry } from "prom-client";
import { ConfigError, parseEnv, processEnv, type ConfigOf, type EnvSpec } from "./config.ts";
import { setTimeout as delay } from "node:timers/promises";
import { errorMessage } from "./errors.ts";
import { compactHeap } from "./heap-compaction.ts";
import { createLogger, type Logger } from "./logger.ts";
import { startManagementServer, type ManagementServer } from "./management-server.ts";
import { createMetricsRegistry } from "./metrics.ts";
import { startTelemetry } from "./telemetry/start-telemetry.ts";
import { telemetryEnv, telemetrySettings } from "./telemetry/telemetry-config.ts";

/**
 * The heap is compacted once (heap-compaction.ts) this long after the process first answers ready, so the first
 * messages a fresh replica takes (a scale from zero) are not paused by it; or this long after start when nothing
 * asks for readiness within START_COMPACTION_FALLBACK_MS.
 */
const COMPACTION_AFTER_READY_MS = 1000;
const START_COMPACTION_FALLBACK_MS = 5000;

export type RoleConfig<S extends EnvSpec> = ConfigOf<S> & ConfigOf<typeof processEnv>;

export interface RoleContext<S extends EnvSpec> {
  config: RoleConfig<S>;
  logger: Logger;
  registry: Registry;
  management: ManagementServer;
}

/** What a started component gives back: how to stop taking work and finish (or release) what it has. */
export interface RunningRole {
  stop(): Promise<void>;
}

export interface RoleDefinition<S extends EnvSpec> {
  role: string;
  env: S;
  start(context: RoleContext<S>): Promise<RunningRole>;
}

/** One line per wrong variable on stderr. */
function printConfigError(error: ConfigError): void {
  for (const line of error.message.split("\n"))
    process.stderr.write(`eventfleet: configuration error: ${line}\n`);
}

/** Exit codes: 0 clean shutdown, 1 crash or budget exceeded, 2 bad configuration. */
export const EXIT_CONFIG = 2;

/** Parses config, or prints the one-line reason and exits 2. */
export function loadConfigOrExit<S extends EnvSpec>(
  spec: S,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  try {
    return parseEnv(spec, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      printConfigError(error);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

/**
 * Runs a role until SIGTERM/SIGINT: stops intake, drains within SHUTDOWN_TIMEOUT_MS, closes the management
 * server and exits 0. A second signal exits at once; an unhandled rejection or exception is logged and exits 1.
 */
export async function runRole<S extends EnvSpec>(definition: RoleDefinition<S>): Promise<void> {
  // One parse of both specs: every wrong variable is reported at once.
  const config: RoleConfig<S> = loadConfigOrExit({ ...definition.env, ...processEnv });
  const base = config;
  const logger = createLogger({ role: definition.role, level: base.LOG_LEVEL });
  loadConfigOrExit(telemetryEnv); // a wrong OTEL_* value stops the process like any other variable
  const telemetry = await startTelemetry(telemetrySettings(definition.role));
  const registry = createMetricsRegistry(definition.role);

  const die = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}: ${errorMessage(error)}; exiting`);
    logger.flush();
    process.exit(1);
  };
  process.on("unhandledRejection", die("unhandled rejection"));
  process.on("uncaughtException", die("uncaught exception"));

  let management: ManagementServer;
  try {
    management = await startManagementServer({
      role: definition.role,
      registry,
      port: config.MANAGEMENT_PORT,
      starting: true,
    });
  } catch (error) {
    process.stderr.write(
      `eventfleet: cannot start the management server on port ${base.MANAGEMENT_PORT}: ${errorMessage(error)} ` +
        `(set MANAGEMENT_PORT to a free port)\n`,
    );
    process.exit(1);
  }

  let running: RunningRole | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting at once");
      logger.flush();
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    stopping = true;
    void shutdown(signal);
  };
  const shutdown = async (signal: NodeJS.Signals) => {
    const budget = base.SHUTDOWN_TIMEOUT_MS;
    logger.info({ signal, budgetMs: budget }, "stopping: no new work, finishing what is in flight");
    management.markShuttingDown();
    const started = Date.now();
    const timer = setTimeout(() => {
      logger.error(
        { budgetMs: budget },
        "shutdown budget exceeded; exiting with work unfinished (it will be redelivered)",
      );
      logger.flush();
      process.exit(1);
    }, budget);
    timer.unref();
    try {
      await running?.stop();
      await telemetry.shutdown();
      await management.close();
      logger.info({ tookMs: Date.now() - started }, "stopped cleanly");
      logger.flush();
      process.exit(0);
    } catch (error) {
      die("shutdown failed")(error);
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    running = await definition.start({ config, logger, registry, management });
    management.markStarted();
    logger.info({ managementPort: management.port }, `${definition.role} started`);
    void Promise.race([management.firstReady, delay(START_COMPACTION_FALLBACK_MS, undefined, { ref: false })])
      .then(() => delay(COMPACTION_AFTER_READY_MS, undefined, { ref: false }))
      .then(() => {
        if (stopping) return;
        const c = compactHeap();
        const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
        logger.info(
          {
            heapMiB: [mib(c.heapBeforeBytes), mib(c.heapAfterBytes)],
            rssMiB: [mib(c.rssBeforeBytes), mib(c.rssAfterBytes)],
            tookMs: Math.round(c.tookMs),
          },
          "heap compacted after start (what loading the code left behind)",
        );
      });
  } catch (error) {
    if (error instanceof ConfigError) {
      printConfigError(error);
      process.exit(EXIT_CONFIG);
    }
    die("start failed")(error);
  }
  if (stopping) await running?.stop();
}
