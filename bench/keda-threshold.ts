// Measures what KEDA's azure-eventhub scaler sees from a device-ingest replica that keeps up: the unprocessed
// events per partition (last enqueued sequence number minus the checkpointed one, KEDA's blobMetadata count)
// sampled every 250 ms under a steady send rate, for two checkpoint intervals. The numbers behind the chart's
// deviceIngest.keda.unprocessedEventThreshold and deviceIngest.checkpoint (values.yaml, docs/deploy-aks.md).
//   node bench/keda-threshold.ts   → bench/results/keda-threshold.md
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  deviceTestEnv,
  DeviceTestProbe,
  Replica,
  startHub,
  validEvents,
} from "../test/support/device-fixture.ts";
import { ROOT } from "../test/support/stack.ts";

const PARTITIONS = 4;
const SECONDS = Number(process.env.KEDA_BENCH_SECONDS ?? 25);
const RATES = [200, 1000, 4000]; // events/s over the whole hub
const INTERVALS_MS = [5000, 1000];

interface Run {
  intervalMs: number;
  rate: number;
  /** KEDA's total over partitions: mean, p95 and max of the samples. */
  mean: number;
  p95: number;
  max: number;
  /** Highest per-partition lag seen. */
  maxPerPartition: number;
  sent: number;
  samples: number;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

async function measure(intervalMs: number, rate: number): Promise<Run> {
  const { emulator, connectionString } = await startHub(PARTITIONS);
  const env = await deviceTestEnv(connectionString);
  // The shipped batch settings (DEVICE_INGEST_BATCH_SIZE 500, DEVICE_INGEST_BATCH_WAIT_MS 1000), this interval.
  const workerEnv = {
    ...env,
    DEVICE_INGEST_BATCH_SIZE: "500",
    DEVICE_INGEST_BATCH_WAIT_MS: "1000",
    DEVICE_INGEST_CHECKPOINT_EVENTS: "1000",
    DEVICE_INGEST_CHECKPOINT_INTERVAL_MS: String(intervalMs),
    DEVICE_INGEST_LOAD_BALANCING: "greedy",
    LOG_LEVEL: "warn",
  };
  const probe = new DeviceTestProbe(env);
  const replica = await Replica.start(workerEnv);
  try {
    await replica.waitReady();
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    let sent = 0;
    let stop = false;
    const sender = (async () => {
      let tick = 0;
      const start = Date.now();
      while (!stop) {
        await probe.send(validEvents(`r${rate}i${intervalMs}t${tick}`, perTick, 40));
        sent += perTick;
        tick++;
        const wait = start + tick * tickMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    // Warm-up: ownership of every partition and a first checkpoint, then sample.
    await new Promise((r) => setTimeout(r, 5000));
    const totals: number[] = [];
    let maxPerPartition = 0;
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      const [last, checkpointed] = await Promise.all([
        probe.lastSequenceNumbers(),
        probe.checkpointedSequences(),
      ]);
      let total = 0;
      for (const [p, seq] of Object.entries(last)) {
        const lag = seq - (checkpointed[p] ?? -1);
        total += lag;
        maxPerPartition = Math.max(maxPerPartition, lag);
      }
      totals.push(total);
      await new Promise((r) => setTimeout(r, 250));
    }
    stop = true;
    await sender;
    return {
      intervalMs,
      rate,
      mean: Math.round(totals.reduce((a, b) => a + b, 0) / totals.length),
      p95: percentile(totals, 95),
      max: Math.max(...totals),
      maxPerPartition,
      sent,
      samples: totals.length,
    };
  } finally {
    await replica.terminate();
    await probe.close();
    await emulator.close();
  }
}

const runs: Run[] = [];
for (const intervalMs of INTERVALS_MS) {
  for (const rate of RATES) {
    const run = await measure(intervalMs, rate);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}

const lines = [
  "# KEDA's view of a device-ingest replica that keeps up (bench/keda-threshold.ts)",
  "",
  `One replica, ${PARTITIONS} partitions, Event Hubs emulator → Cosmos emulator, shipped batch settings (500 events or 1000 ms),`,
  `checkpoint after 1000 events or the interval; KEDA's unprocessed-event count (last enqueued − checkpointed, summed over`,
  `partitions) sampled every 250 ms for ${SECONDS} s after a 5 s warm-up. ${new Date().toISOString().slice(0, 10)}.`,
  "",
  "| checkpoint interval | send rate | total lag mean | p95 | max | max per partition | model max ≈ rate × (interval + 1 s wait) | rate achieved |",
  "|---|---|---|---|---|---|---|---|",
  ...runs.map(
    (r) =>
      `| ${r.intervalMs} ms | ${r.rate}/s | ${r.mean} | ${r.p95} | ${r.max} | ${r.maxPerPartition} | ${Math.round(
        Math.min(r.rate * (r.intervalMs / 1000), PARTITIONS * 1000) + r.rate,
      )} | ${Math.round(r.sent / (SECONDS + 5))}/s |`,
  ),
  "",
  "A row whose achieved rate is below its send rate, or whose lag keeps growing, is a saturated machine, not a",
  "replica that keeps up: the chart's threshold is checked (k8s-tests/chart-policy.test.ts) against the rows up to",
  "1,000 events/s only. The measured maximum exceeds the model by the pipeline delay (batch wait, Cosmos write,",
  "checkpoint write), 2-4 s on a loaded machine instead of the 1 s batch wait alone.",
  "",
];
writeFileSync(join(ROOT, "bench/results/keda-threshold.md"), `${lines.join("\n")}\n`);
process.stdout.write(lines.join("\n"));
process.exit(0);
