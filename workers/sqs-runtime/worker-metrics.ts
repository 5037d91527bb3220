// The SQS workers' metrics (names and labels exactly as docs/metrics.md), registered on the process registry.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricOnce, queueDepthGauge } from "../../shared/metrics.ts";
import { exemplarOption } from "../../shared/telemetry/exemplars.ts";

export type MessageOutcome = "success" | "retry" | "dead_letter" | "duplicate";
export type OrderStage = "INVENTORY_RESERVED" | "REJECTED" | "SHIPPED" | "CANCELLED" | "NOTIFIED";

export interface WorkerMetrics {
  processed: Counter<"worker" | "outcome">;
  handlerDuration: Histogram<"worker" | "event_type">;
  inFlight: Gauge<"worker">;
  receiveBatchSize: Histogram<"worker">;
  dlqSends: Counter<"worker" | "reason">;
  queueDepth: Gauge<"queue" | "kind">;
  stageLatency: Histogram<"stage">;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  return {
    processed: metricOnce(
      registry,
      "eventfleet_messages_processed_total",
      () =>
        new Counter({
          name: "eventfleet_messages_processed_total",
          help: "SQS messages finished by a worker, by outcome (success, retry, dead_letter, duplicate).",
          labelNames: ["worker", "outcome"],
          registers,
        }),
    ),
    handlerDuration: metricOnce(
      registry,
      "eventfleet_handler_duration_seconds",
      () =>
        new Histogram({
          name: "eventfleet_handler_duration_seconds",
          help: "Time a worker's handler took for one event, by event type.",
          labelNames: ["worker", "event_type"],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
          ...exemplarOption(registry),
        }),
    ),
    inFlight: metricOnce(
      registry,
      "eventfleet_messages_in_flight",
      () =>
        new Gauge({
          name: "eventfleet_messages_in_flight",
          help: "Messages received and not yet finished (handled, retried or dead-lettered).",
          labelNames: ["worker"],
          registers,
        }),
    ),
    receiveBatchSize: metricOnce(
      registry,
      "eventfleet_receive_batch_size",
      () =>
        new Histogram({
          name: "eventfleet_receive_batch_size",
          help: "Messages returned per ReceiveMessage call (empty long polls count as 0).",
          labelNames: ["worker"],
          buckets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
          registers,
        }),
    ),
    dlqSends: metricOnce(
      registry,
      "eventfleet_dlq_sends_total",
      () =>
        new Counter({
          name: "eventfleet_dlq_sends_total",
          help: "Messages a worker sent to its dead-letter queue itself, by reason (maxReceiveCount moves are SQS's).",
          labelNames: ["worker", "reason"],
          registers,
        }),
    ),
    queueDepth: queueDepthGauge(registry),
    stageLatency: metricOnce(
      registry,
      "eventfleet_order_stage_latency_seconds",
      () =>
        new Histogram({
          name: "eventfleet_order_stage_latency_seconds",
          help: "Time from an order's placement until it reached a stage.",
          labelNames: ["stage"],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
          registers,
        }),
    ),
  };
}
