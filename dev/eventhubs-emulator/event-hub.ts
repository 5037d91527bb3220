// One event hub: its partitions, consumer groups, receiver ownership and where sends go.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_CONSUMER_GROUP } from "./options.ts";
import type { HubOptions } from "./options.ts";
import { PartitionFile } from "./partition-file.ts";
import { partitionForKey } from "./partition-key.ts";
import { PartitionLog } from "./partition-log.ts";
import type { EventStamper, Retention } from "./partition-log.ts";
import { ReceiverOwnership } from "./receiver-ownership.ts";

export class EventHub {
  readonly name: string;
  readonly createdAt: Date;
  readonly partitions: readonly PartitionLog[];
  private readonly consumerGroups: Set<string>;
  private readonly ownership = new Map<string, ReceiverOwnership>();
  private roundRobin = 0;

  constructor(options: HubOptions, retention: Retention, dataDir: string | undefined, stamp: EventStamper) {
    this.name = options.name;
    // Consumer group names are case-insensitive in the service.
    this.consumerGroups = new Set(
      [DEFAULT_CONSUMER_GROUP, ...(options.consumerGroups ?? [])].map((group) => group.toLowerCase()),
    );
    const hubDir = dataDir === undefined ? undefined : join(dataDir, options.name);
    this.createdAt = new Date();
    if (hubDir) {
      mkdirSync(hubDir, { recursive: true });
      // The hub's creation time, like its events, survives a restart.
      const hubFile = join(hubDir, "hub.json");
      if (existsSync(hubFile)) {
        const saved = JSON.parse(readFileSync(hubFile, "utf8")) as { createdAt?: string };
        if (saved.createdAt) this.createdAt = new Date(saved.createdAt);
      } else {
        writeFileSync(hubFile, JSON.stringify({ createdAt: this.createdAt.toISOString() }));
      }
    }
    this.partitions = Array.from({ length: options.partitions }, (_, index) => {
      if (!hubDir) return new PartitionLog(String(index), retention, stamp);
      const { file, events, end } = PartitionFile.open(join(hubDir, `${index}.log`));
      return new PartitionLog(String(index), retention, stamp, file, events, end);
    });
  }

  hasConsumerGroup(name: string): boolean {
    return this.consumerGroups.has(name.toLowerCase());
  }

  partition(id: string): PartitionLog | undefined {
    return /^\d+$/.test(id) ? this.partitions[Number(id)] : undefined;
  }

  /** Where a send goes: the partition key's partition, else the next one round robin. */
  route(partitionKey: string | undefined): PartitionLog {
    const count = this.partitions.length;
    const index =
      partitionKey !== undefined ? partitionForKey(partitionKey, count) : this.roundRobin++ % count;
    return this.partitions[index]!;
  }

  receiversOf(consumerGroup: string, partitionId: string): ReceiverOwnership {
    const key = `${consumerGroup.toLowerCase()}/${partitionId}`;
    let ownership = this.ownership.get(key);
    if (!ownership) {
      ownership = new ReceiverOwnership(
        `${this.name}/ConsumerGroups/${consumerGroup}/Partitions/${partitionId}`,
      );
      this.ownership.set(key, ownership);
    }
    return ownership;
  }

  close(): void {
    for (const partition of this.partitions) partition.close();
  }
}
