// How many events device-ingest may hold per partition, from the pod's memory limit in bytes (not an event count).
//
// The SDK buffers up to prefetchCount events per owned partition on top of the batch being processed, and an event
// may be up to maxEventBytes: with the SDK's default prefetch (3 × batch size) a replica owning every partition
// of a backlog of large events holds far more than a 512 MiB pod has. So batch size and prefetch are derived
// from the limit, assuming the worst: this replica owns every partition and every event is as large as allowed.
import { readFileSync } from "node:fs";

/** cgroup v2 and v1 files holding the container's memory limit (Kubernetes sets them from resources.limits). */
const CGROUP_LIMIT_FILES = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"];
/** cgroup v1 reports "no limit" as a huge number (close to 2^63); anything above this means unlimited. */
const UNLIMITED_ABOVE = 2 ** 50;

/** The memory limit of this container in bytes, or undefined when it has none (or it cannot be read). */
export function containerMemoryLimit(files: readonly string[] = CGROUP_LIMIT_FILES): number | undefined {
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      continue;
    }
    if (text === "max") return undefined;
    const bytes = Number(text);
    if (Number.isFinite(bytes) && bytes > 0) return bytes < UNLIMITED_ABOVE ? bytes : undefined;
  }
  return undefined;
}

export interface MemoryBudgetInput {
  /** The container's memory limit in bytes, or undefined for none. */
  memoryLimitBytes: number | undefined;
  /** Share of the limit that buffered events may take (the rest: the runtime, SDK clients, Cosmos bulk requests). */
  eventBufferShare: number;
  /** Partitions of the hub: this replica may own all of them when the others are gone. */
  partitions: number;
  maxEventBytes: number;
  /** The configured batch size: the budget only lowers it. */
  maxBatchSize: number;
}

export interface ReceiveSizing {
  maxBatchSize: number;
  /** Events the SDK may request ahead per partition, beyond the batch being processed. */
  prefetchCount: number;
  /** Bytes all partitions may buffer in the worst case with these numbers (for the log line). */
  worstCaseBytes: number;
}

/**
 * A decoded event costs more than its body: the AMQP frame, the body Buffer, the parsed JSON and the Cosmos
 * document built from it exist at once while a batch is processed.
 */
const BYTES_PER_BODY_BYTE = 3;

export function receiveSizing(input: MemoryBudgetInput): ReceiveSizing {
  const perEvent = input.maxEventBytes * BYTES_PER_BODY_BYTE;
  const worst = (batch: number, prefetch: number) => input.partitions * (batch + prefetch) * perEvent;
  if (input.memoryLimitBytes === undefined) {
    // No limit to respect: the configured batch, and one batch ahead (not the SDK's three).
    return {
      maxBatchSize: input.maxBatchSize,
      prefetchCount: input.maxBatchSize,
      worstCaseBytes: worst(input.maxBatchSize, input.maxBatchSize),
    };
  }
  const budget = input.memoryLimitBytes * input.eventBufferShare;
  // Half of a partition's share for the batch being processed, half for the prefetched one.
  const perPartitionEvents = Math.floor(budget / input.partitions / perEvent);
  const maxBatchSize = Math.max(1, Math.min(input.maxBatchSize, Math.floor(perPartitionEvents / 2)));
  return { maxBatchSize, prefetchCount: maxBatchSize, worstCaseBytes: worst(maxBatchSize, maxBatchSize) };
}
