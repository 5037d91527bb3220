// Structured logging: pino JSON to stdout, pretty-printed when stdout is a terminal.
import { pino, type Logger } from "pino";
import { activeTraceIds } from "./telemetry/spans.ts";

export type { Logger } from "pino";

export interface LoggerOptions {
  role: string;
  level?: string;
  /** Pretty output for people; defaults to whether stdout is a terminal. */
  pretty?: boolean;
}

export function createLogger({ role, level = "info", pretty = process.stdout.isTTY }: LoggerOptions): Logger {
  return pino({
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
    ...(pretty
      ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } }
      : {}),
  });
}
