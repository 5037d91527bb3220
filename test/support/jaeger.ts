// A real Jaeger for tracing tests (one per test file, in-memory) and a reader of its query API (/api/traces).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startJaeger, type RunningJaeger } from "../../dev/jaeger/jaeger.ts";
import { ROOT } from "./stack.ts";
import { waitFor } from "./wait.ts";

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: "CHILD_OF" | "FOLLOWS_FROM"; traceID: string; spanID: string }[];
  /** Microseconds since the epoch. */
  startTime: number;
  duration: number;
  tags: { key: string; value: unknown }[];
  logs: { timestamp: number; fields: { key: string; value: unknown }[] }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

export function serviceOf(trace: JaegerTrace, span: JaegerSpan): string {
  return trace.processes[span.processID]?.serviceName ?? "?";
}

/** The span events (Jaeger "logs") of a span, by name, with their attributes. */
export function spanEvents(span: JaegerSpan): { name: string; attributes: Record<string, unknown> }[] {
  return span.logs.map((log) => {
    const attributes = Object.fromEntries(log.fields.map((f) => [f.key, f.value]));
    return { name: typeof attributes.event === "string" ? attributes.event : "", attributes };
  });
}

export function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((r) => r.refType === "CHILD_OF")?.spanID;
}

/** Spans whose parent is not in the trace (the root has no parent and is not one). */
export function orphans(trace: JaegerTrace): JaegerSpan[] {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  return trace.spans.filter((s) => {
    const parent = parentOf(s);
    return parent !== undefined && !ids.has(parent);
  });
}

/** One line per span, indented by depth, for failure messages. */
export function describeTrace(trace: JaegerTrace): string {
  const children = new Map<string | undefined, JaegerSpan[]>();
  const ids = new Set(trace.spans.map((s) => s.spanID));
  for (const span of [...trace.spans].sort((a, b) => a.startTime - b.startTime)) {
    const parent = parentOf(span);
    const key = parent && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}${serviceOf(trace, span)}: ${span.operationName}`);
      walk(span.spanID, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join("\n");
}

export class TestJaeger {
  readonly #running: RunningJaeger;

  private constructor(running: RunningJaeger) {
    this.#running = running;
  }

  /** Builds Jaeger if this machine has not yet (minutes, once), then starts it on free loopback ports. */
  static async start(): Promise<TestJaeger> {
    const running = await startJaeger({
      root: ROOT,
      stateDir: mkdtempSync(join(tmpdir(), "eventfleet-jaeger-")),
      standardPorts: false,
    });
    running.process.unref();
    const pid = running.process.pid;
    process.once("exit", () => {
      if (pid && running.process.running) process.kill(pid, "SIGTERM");
    });
    return new TestJaeger(running);
  }

  get url(): string {
    return this.#running.url;
  }

  /** OTEL_* variables that make a role export to this Jaeger, every span sampled. */
  get otelEnv(): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.#running.otlpEndpoint,
      OTEL_TRACES_SAMPLER: "parentbased_always_on",
    };
  }

  async #get<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`);
    if (!response.ok) throw new Error(`Jaeger ${path}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { data: T }).data;
  }

  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const response = await fetch(`${this.url}/api/traces/${traceId}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`Jaeger trace ${traceId}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { data: JaegerTrace[] }).data[0];
  }

  /** Traces of `service` with a span carrying every tag given. */
  findTraces(service: string, tags: Record<string, string>): Promise<JaegerTrace[]> {
    const query = new URLSearchParams({
      service,
      tags: JSON.stringify(tags),
      lookback: "1h",
      limit: "20",
    });
    return this.#get<JaegerTrace[]>(`/api/traces?${query.toString()}`);
  }

  /** Waits until the trace of `traceId` satisfies `complete` (spans arrive a second or so after they end). */
  waitForTrace(
    traceId: string,
    complete: (trace: JaegerTrace) => boolean,
    description: string,
    timeoutMs = 60_000,
  ): Promise<JaegerTrace> {
    let last: JaegerTrace | undefined;
    return waitFor(
      async () => {
        last = await this.trace(traceId);
        return last && complete(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 500, description },
    ).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}\ntrace ${traceId} so far:\n${last ? describeTrace(last) : "(none)"}`,
      );
    });
  }

  async stop(): Promise<void> {
    await this.#running.process.stop(3000);
  }
}
