// Structured logging: pino JSON to stdout, pretty-printed when stdout is a terminal.
import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger } from "pino";
import { activeTraceIds } from "./telemetry/spans.ts";

export type { Logger } from "pino";

export interface LoggerOptions {
  role: string;
  level?: string;
  /** Pretty output for people; defaults to whether stdout is a terminal. */
  pretty?: boolean;
}

/**
 * pino-pretty as a stream in this thread, loaded only for a terminal. (pino's `transport` option would run it in a
 * worker thread that pino starts from its own files on disk: pino could then not be bundled, and loading it file by
 * file from node_modules cost every role ~15 ms of its start.)
 */
function prettyStream(): DestinationStream {
  const build = createRequire(import.meta.url)("pino-pretty") as (options: object) => DestinationStream;
  return build({ colorize: true, translateTime: "SYS:HH:MM:ss.l" });
}

export function createLogger({ role, level = "info", pretty = process.stdout.isTTY }: LoggerOptions): Logger {
  const options = {
    level,
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // trace_id/span_id of the span the line was written in (nothing when tracing is off): logs ↔ traces.
    mixin: () => activeTraceIds() ?? {}, // pino merges into what this returns: a fresh object
    // Secrets must never reach logs, even when an error object carries a client's config.
    redact: {
      paths: ["*.connectionString", "*.key", "*.password", "*.authorization", "*.headers.authorization"],
      censor: "[redacted]",
    },
  };
  return pretty ? pino(options, prettyStream()) : pino(options);
}
