// One Prometheus registry per process, with default process metrics and build info; components add their own.
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { version } from "./version.ts";

export function createMetricsRegistry(role: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: "eventfleet_build_info",
    help: "Always 1; labels carry the version and the role of this process.",
    labelNames: ["version", "role"],
    registers: [registry],
  });
  buildInfo.set({ version, role }, 1);
  return registry;
}
