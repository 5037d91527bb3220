// The device-ingest metrics (names and labels exactly as docs/metrics.md), registered on the process registry.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricOnce, queueDepthGauge } from "../../shared/metrics.ts";

export type EventOutcome = "stored" | "dead_letter";

export interface IngestMetrics {
  events: Counter<"partition" | "outcome">;
  partitionLag: Gauge<"partition">;
  ownedPartitions: Gauge;
  checkpointAge: Gauge<"partition">;
  batchDuration: Histogram;
  requestCharge: Counter<"container" | "operation">;
  throttles: Counter<"container">;
  deadLetters: Counter<"reason">;
  queueDepth: Gauge<"queue" | "kind">;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  return {
    events: metricOnce(
      registry,
      "eventfleet_eventhub_events_total",
      () =>
        new Counter({
          name: "eventfleet_eventhub_events_total",
          help: "Events handled, by partition and outcome (stored in Cosmos, or dead-lettered).",
          labelNames: ["partition", "outcome"],
          registers,
        }),
    ),
    partitionLag: metricOnce(
      registry,
      "eventfleet_eventhub_partition_lag_events",
      () =>
        new Gauge({
          name: "eventfleet_eventhub_partition_lag_events",
          help: "Last enqueued minus last processed sequence number, per owned partition.",
          labelNames: ["partition"],
          registers,
        }),
    ),
    ownedPartitions: metricOnce(
      registry,
      "eventfleet_eventhub_owned_partitions",
      () =>
        new Gauge({
          name: "eventfleet_eventhub_owned_partitions",
          help: "Partitions this replica owns and reads.",
          registers,
        }),
    ),
    checkpointAge: metricOnce(
      registry,
      "eventfleet_eventhub_checkpoint_age_seconds",
      () =>
        new Gauge({
          name: "eventfleet_eventhub_checkpoint_age_seconds",
          help: "How long the partition's checkpoint has been behind the events received (0 when caught up).",
          labelNames: ["partition"],
          registers,
        }),
    ),
    batchDuration: metricOnce(
      registry,
      "eventfleet_eventhub_batch_duration_seconds",
      () =>
        new Histogram({
          name: "eventfleet_eventhub_batch_duration_seconds",
          help: "Time to make one received batch durable (Cosmos writes and dead letters, retries included).",
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers,
        }),
    ),
    requestCharge: metricOnce(
      registry,
      "eventfleet_cosmos_request_charge_total",
      () =>
        new Counter({
          name: "eventfleet_cosmos_request_charge_total",
          help: "Cosmos DB request units consumed, by container and operation.",
          labelNames: ["container", "operation"],
          registers,
        }),
    ),
    throttles: metricOnce(
      registry,
      "eventfleet_cosmos_throttles_total",
      () =>
        new Counter({
          name: "eventfleet_cosmos_throttles_total",
          help: "Cosmos DB operations answered 429 (throttled) after the SDK's own retries, by container.",
          labelNames: ["container"],
          registers,
        }),
    ),
    deadLetters: metricOnce(
      registry,
      "eventfleet_deadletters_total",
      () =>
        new Counter({
          name: "eventfleet_deadletters_total",
          help: "Device events sent to the telemetry dead-letter queue, by reason.",
          labelNames: ["reason"],
          registers,
        }),
    ),
    queueDepth: queueDepthGauge(registry),
  };
}
