// The outbox relay's metrics, one registry per process: backlog, publishes by outcome, publish duration, stall.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export function relayMetrics(registry: Registry, backlog: () => Promise<void>, stalled: () => boolean) {
  const pending = new Gauge({
    name: "eventfleet_outbox_pending",
    help: "Outbox entries not yet acknowledged as published to SNS (pending on a relay or not yet read).",
    registers: [registry],
    collect: backlog,
  });
  const oldestAge = new Gauge({
    name: "eventfleet_outbox_oldest_age_seconds",
    help: "Age of the oldest outbox entry not yet published to SNS (0 when none).",
    registers: [registry],
  });
  const publishes = new Counter({
    name: "eventfleet_relay_publishes_total",
    help: "Outbox entries handed to SNS, by outcome: success, retry (will be retried), failed (rejected by SNS).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of ["success", "retry", "failed"]) publishes.inc({ outcome }, 0);
  const duration = new Histogram({
    name: "eventfleet_relay_publish_duration_seconds",
    help: "Duration of one SNS PublishBatch call.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: "eventfleet_relay_stalled",
    help: "1 when this relay has made no progress (nothing published while the outbox holds entries) for RELAY_STALL_AFTER_MS.",
    registers: [registry],
    collect() {
      this.set(stalled() ? 1 : 0);
    },
  });
  return { pending, oldestAge, publishes, duration };
}
