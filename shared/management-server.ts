// The management server every long-running process exposes: /metrics, /healthz (alive), /readyz (checks).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Gauge, type Registry } from "prom-client";
import { errorMessage } from "./errors.ts";

/** One dependency or work loop that must be fine for the process to take work. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when fine; throws (with a message naming the problem) when not. */
  check: () => Promise<void> | void;
  /** A check that takes longer than this fails. Default 2000 ms. */
  timeoutMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** Check name → "ok" or what is wrong. */
  checks: Record<string, string>;
}

export interface ManagementServerOptions {
  role: string;
  registry: Registry;
  port: number;
  host?: string;
  checks?: ReadinessCheck[];
  /**
   * The process is still starting: /readyz fails with check `startup` until markStarted(). The server listens before
   * the component has started (so /healthz answers and a startup probe passes), and a component's own checks are
   * registered while it starts: without this, a probe in that window would find every registered check passing.
   */
  starting?: boolean;
}

export interface ManagementServer {
  readonly port: number;
  readonly url: string;
  addCheck(check: ReadinessCheck): void;
  /** The component has started: from now on its checks alone decide readiness. */
  markStarted(): void;
  /** Resolves the first time a readiness evaluation (/readyz, or a metrics scrape) finds the process ready. */
  readonly firstReady: Promise<void>;
  /** From now on /readyz answers 503 with check `shutdown`, so load balancers stop sending work. */
  markShuttingDown(): void;
  readiness(): Promise<ReadinessReport>;
  close(): Promise<void>;
}

async function runCheck(check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = check.timeoutMs ?? 2000;
  try {
    await Promise.race([
      Promise.resolve().then(check.check),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return "ok";
  } catch (error) {
    return errorMessage(error) || "failed";
  } finally {
    clearTimeout(timer);
  }
}

export async function startManagementServer(options: ManagementServerOptions): Promise<ManagementServer> {
  const { role, registry } = options;
  const checks = [...(options.checks ?? [])];
  let shuttingDown = false;
  let starting = options.starting ?? false;
  let becameReady: () => void = () => undefined;
  const firstReady = new Promise<void>((resolve) => (becameReady = resolve));

  const readiness = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await runCheck(c)] as const));
    const report: Record<string, string> = Object.fromEntries(results);
    if (starting) report.startup = "starting";
    if (shuttingDown) report.shutdown = "shutting down";
    const ready = Object.values(report).every((r) => r === "ok");
    if (ready) becameReady();
    return { ready, checks: report };
  };

  // Both gauges are collected concurrently on a scrape: they share one readiness evaluation per scrape.
  let scrape: Promise<ReadinessReport> | undefined;
  const scrapeReadiness = () => {
    scrape ??= readiness().finally(() => setTimeout(() => (scrape = undefined), 100).unref());
    return scrape;
  };
  new Gauge({
    name: "eventfleet_ready",
    help: "1 when every readiness check of this process passes (what /readyz answers), else 0.",
    labelNames: ["role"],
    registers: [registry],
    async collect() {
      this.set({ role }, (await scrapeReadiness()).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: "eventfleet_readiness_check_up",
    help: "1 when the named readiness check passes, 0 when it fails.",
    labelNames: ["role", "check"],
    registers: [registry],
    async collect() {
      const report = await scrapeReadiness();
      for (const [name, result] of Object.entries(report.checks))
        this.set({ role, check: name }, result === "ok" ? 1 : 0);
    },
  });

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const send = (status: number, contentType: string, body: string) => {
      response.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
      response.end(body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      send(405, "application/json", JSON.stringify({ error: "only GET is served here" }));
      return;
    }
    if (path === "/healthz") {
      send(200, "application/json", JSON.stringify({ status: "alive", role }));
    } else if (path === "/readyz") {
      void readiness().then((report) => {
        const failing = Object.entries(report.checks)
          .filter(([, result]) => result !== "ok")
          .map(([check, error]) => ({ check, error }));
        send(
          report.ready ? 200 : 503,
          "application/json",
          JSON.stringify(
            report.ready
              ? { status: "ready", role, checks: report.checks }
              : { status: "not ready", role, failing },
          ),
        );
      });
    } else if (path === "/metrics") {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        (error: unknown) => send(500, "text/plain", `metrics collection failed: ${errorMessage(error)}`),
      );
    } else {
      send(
        404,
        "application/json",
        JSON.stringify({ error: "not found; try /metrics, /healthz or /readyz" }),
      );
    }
  });
  // Probes and scrapes are short; do not let an idle keep-alive connection hold shutdown up.
  server.keepAliveTimeout = 1000;

  const host = options.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    addCheck: (check) => checks.push(check),
    markStarted: () => {
      starting = false;
    },
    firstReady,
    markShuttingDown: () => {
      shuttingDown = true;
    },
    readiness,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
