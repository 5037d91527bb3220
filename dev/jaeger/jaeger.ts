// Jaeger, the local trace backend: the upstream all-in-one binary (built from its Go module by
// scripts/build-jaeger.sh), in-memory storage, every listener on 127.0.0.1 and on ports we chose.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RunningEmulator } from "../stack/emulators.ts";
import { ManagedProcess } from "../stack/managed-process.ts";
import { choosePort } from "../stack/ports.ts";

export const JAEGER_STANDARD_PORTS = { ui: 16686, otlpHttp: 4318 };

/** Roughly 15 minutes for a first build on 2 busy cores; a cached one answers in a second. */
const BUILD_TIMEOUT_MS = 40 * 60_000;
const READY_MS = 60_000;

export interface JaegerPorts {
  /** Query API and UI (http://127.0.0.1:<ui>/api/traces). */
  ui: number;
  /** OTLP over HTTP: what OTEL_EXPORTER_OTLP_ENDPOINT points at. */
  otlpHttp: number;
  /** The query service's gRPC API (unused here, but it always listens: keep it on loopback). */
  queryGrpc: number;
}

/** Builds (or finds in the machine-wide cache) the Jaeger binary and returns its path. */
export async function jaegerBinary(root: string): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [join(root, "scripts/build-jaeger.sh")], {
    timeout: BUILD_TIMEOUT_MS,
    maxBuffer: 1 << 20,
  });
  const path = /^JAEGER=(.+)$/m.exec(stdout)?.[1];
  if (!path) throw new Error(`scripts/build-jaeger.sh printed no JAEGER=<path> line: ${stdout.slice(-500)}`);
  return path;
}

/** The collector-style configuration: OTLP/HTTP in, memory storage, query API + UI out, no other listener. */
export function jaegerConfig(ports: JaegerPorts): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.ui}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export interface RunningJaeger {
  process: ManagedProcess;
  /** The UI and query API. */
  url: string;
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpEndpoint: string;
}

export interface JaegerOptions {
  root: string;
  /** Holds the generated config and the log. */
  stateDir: string;
  /** Prefer 16686 / 4318 (make dev) or any free port (tests). */
  standardPorts: boolean;
}

/** Jaeger as one of the stack's processes: JAEGER_URL in stack.env, the UI address in the summary. */
export async function startJaegerForStack(
  options: JaegerOptions,
): Promise<RunningEmulator & { otlpEndpoint: string }> {
  const jaeger = await startJaeger(options);
  return {
    name: "jaeger (traces)",
    process: jaeger.process,
    env: { JAEGER_URL: jaeger.url },
    where: `UI ${jaeger.url}  (OTLP ${jaeger.otlpEndpoint}; every role exports to it)`,
    otlpEndpoint: jaeger.otlpEndpoint,
  };
}

export async function startJaeger(options: JaegerOptions): Promise<RunningJaeger> {
  const binary = await jaegerBinary(options.root);
  const ports: JaegerPorts = {
    ui: await choosePort(options.standardPorts ? JAEGER_STANDARD_PORTS.ui : undefined),
    otlpHttp: await choosePort(options.standardPorts ? JAEGER_STANDARD_PORTS.otlpHttp : undefined),
    queryGrpc: await choosePort(undefined),
  };
  mkdirSync(options.stateDir, { recursive: true });
  const configFile = join(options.stateDir, "jaeger.yaml");
  writeFileSync(configFile, jaegerConfig(ports));
  const process = new ManagedProcess({
    name: "jaeger",
    command: binary,
    args: ["--config", configFile],
    logFile: join(options.stateDir, "logs", "jaeger.log"),
  });
  const url = `http://127.0.0.1:${ports.ui}`;
  try {
    await process.waitForPort(ports.otlpHttp, READY_MS);
    await process.waitForPort(ports.ui, READY_MS);
  } catch (error) {
    await process.stop(2000);
    throw new Error(`Jaeger did not start (see ${join(options.stateDir, "logs", "jaeger.log")})`, {
      cause: error,
    });
  }
  return { process, url, otlpEndpoint: `http://127.0.0.1:${ports.otlpHttp}` };
}
