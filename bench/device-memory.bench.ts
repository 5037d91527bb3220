// device-ingest memory: RSS while one replica drains a backlog of large events under a slow Cosmos, without a memory
// limit (batch 500, one batch prefetched) and with a pod limit that batch size and prefetch derive from.
import { runLargeEventsChaos } from "../test/support/chaos/chaos-large-events.ts";

const EVENTS = Number(process.env.BENCH_LARGE_EVENTS ?? 6000);
const EVENT_BYTES = 16 * 1024;
const LIMIT = 512 * 1024 * 1024;

export interface DeviceMemoryResult {
  name: string;
  unbounded: { peakRssMiB: number; eventsPerSecond: number };
  bounded: { peakRssMiB: number; eventsPerSecond: number; limitMiB: number };
  markdown: string;
}

export async function run(progress: (line: string) => void = () => undefined): Promise<DeviceMemoryResult> {
  const common = {
    events: EVENTS,
    eventBytes: EVENT_BYTES,
    partitions: 4,
    slowCosmosOneWayMs: 100,
    drainTimeoutMs: 600_000,
    progress,
  };
  const unbounded = await runLargeEventsChaos({ ...common, memoryLimitBytes: undefined });
  const bounded = await runLargeEventsChaos({ ...common, memoryLimitBytes: LIMIT });
  const figures = (r: typeof unbounded) => ({
    peakRssMiB: r.counts.peakRssMiB ?? 0,
    eventsPerSecond: r.counts.eventsPerSecond ?? 0,
  });
  const u = figures(unbounded);
  const b = figures(bounded);
  const markdown = [
    `### device-ingest memory: one replica drains ${EVENTS} events of ${EVENT_BYTES / 1024} KiB over 4 partitions, Cosmos +200 ms per round trip`,
    "",
    "| memory limit | batch × prefetch per partition | peak RSS | events/s |",
    "|---|---|---:|---:|",
    `| none (configured batch 500) | 500 × 500 | ${u.peakRssMiB} MiB | ${u.eventsPerSecond} |`,
    `| ${LIMIT / 1024 / 1024} MiB (DEVICE_INGEST_MEMORY_LIMIT_BYTES or the cgroup) | derived: 42 × 42 for 256 KiB events at most | ${b.peakRssMiB} MiB | ${b.eventsPerSecond} |`,
    "",
    "Batch size and prefetch come from the limit assuming the worst (this replica owns every partition, every event",
    "is DEVICE_INGEST_MAX_EVENT_BYTES): half the limit for buffered events. The SDK's default prefetch is 3 × batch.",
    `Invariants held: ${[unbounded, bounded].every((r) => r.invariants.every((i) => i.violations.length === 0))}.`,
  ].join("\n");
  return {
    name: "device-memory",
    unbounded: u,
    bounded: { ...b, limitMiB: LIMIT / 1024 / 1024 },
    markdown,
  };
}

if (import.meta.main) console.log((await run(console.error)).markdown);
