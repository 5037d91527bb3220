// One owned partition: what this replica knows about it and its checkpoint policy (as the Azure SDK's
// PartitionProcessor): checkpoint after N durable events or T ms, only while the ownership record names us, and
// never behind the stored checkpoint.
import { inCheckpointSpan } from "../../shared/telemetry/device-spans.ts";
import type { PartitionContext, ReceivedEventData } from "@azure/event-hubs";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { DeviceIngestOptions } from "./device-ingest-options.ts";
import type { PartitionOwnership } from "./partition-ownership.ts";

export type OwnershipRecords = Pick<PartitionOwnership, "assertOwner" | "checkpoint">;

export class PartitionProcessor {
  readonly context: PartitionContext;
  readonly #ownership: OwnershipRecords;
  readonly #logger: Logger;
  readonly #options: Pick<DeviceIngestOptions, "checkpointEveryEvents" | "checkpointIntervalMs">;
  /** Aborts retries of the batch in flight: ownership lost, or the shutdown drain budget ran out. */
  readonly abort = new AbortController();
  inFlight: Promise<void> | undefined;
  /** When the SDK last handed us a (possibly empty) batch: receiving works while this stays recent. */
  lastReceiveAt = Date.now();
  /** The last durable event not yet checkpointed, and how many durable events that covers. */
  #pending: ReceivedEventData | undefined;
  #pendingCount = 0;
  #firstPendingAt = 0;
  /** Since when the checkpoint has been behind the events received (undefined when caught up). */
  #behindSince: number | undefined;
  #lastReceivedSequence = -1;
  checkpointedSequence = -1;
  /**
   * Another replica owns the partition now. From here on we never checkpoint it: our checkpoint could land after
   * the new owner's and move it back.
   */
  ownershipLost = false;

  constructor(
    context: PartitionContext,
    deps: {
      ownership: OwnershipRecords;
      logger: Logger;
      options: Pick<DeviceIngestOptions, "checkpointEveryEvents" | "checkpointIntervalMs">;
    },
  ) {
    this.context = context;
    this.#ownership = deps.ownership;
    this.#logger = deps.logger;
    this.#options = deps.options;
  }

  get partitionId(): string {
    return this.context.partitionId;
  }

  /** Before a batch is processed: throws OwnershipLostError if another replica is recorded as owner. */
  async assertOwner(): Promise<void> {
    try {
      await this.#ownership.assertOwner(this.context);
    } catch (error) {
      if ((error as { code?: string }).code === "ReceiverDisconnectedError") {
        this.ownershipLost = true;
        this.abort.abort();
        throw error;
      }
      // The store cannot be read right now: go on (the SDK renews ownership through the same store, and the
      // checkpoint is written only after the same check succeeds).
      this.#logger.debug(
        { partition: this.partitionId, err: errorMessage(error) },
        "ownership record unreadable; processing the batch",
      );
    }
  }

  received(events: ReceivedEventData[]): void {
    this.lastReceiveAt = Date.now();
    if (events.length === 0) return;
    if (this.#behindSince === undefined) this.#behindSince = Date.now();
    this.#lastReceivedSequence = events[events.length - 1]!.sequenceNumber;
  }

  /** The batch ending with `last` is durable (stored or dead-lettered). */
  durable(last: ReceivedEventData, count: number): void {
    if (this.#pending === undefined) this.#firstPendingAt = Date.now();
    this.#pending = last;
    this.#pendingCount += count;
  }

  /** The sequence number up to which events are durable (for the lag), or -1. */
  get processedSequence(): number {
    return this.#pending?.sequenceNumber ?? this.checkpointedSequence;
  }

  get checkpointAgeSeconds(): number {
    return this.#behindSince === undefined ? 0 : (Date.now() - this.#behindSince) / 1000;
  }

  get checkpointDue(): boolean {
    return (
      this.#pending !== undefined &&
      (this.#pendingCount >= this.#options.checkpointEveryEvents ||
        Date.now() - this.#firstPendingAt >= this.#options.checkpointIntervalMs)
    );
  }

  /** Checkpoints the last durable event. A failure is logged and retried with the next batch, never thrown. */
  async checkpoint(): Promise<void> {
    const event = this.#pending;
    if (!event || this.ownershipLost) return;
    let outcome;
    try {
      outcome = await inCheckpointSpan(this.context.partitionId, event.sequenceNumber, () =>
        this.#ownership.checkpoint(this.context, event),
      );
    } catch (error) {
      this.#logger.warn(
        { partition: this.partitionId, sequenceNumber: event.sequenceNumber, err: errorMessage(error) },
        "checkpoint failed; will retry (events are durable, a restart would redeliver and overwrite them)",
      );
      return;
    }
    if (outcome === "not_owner") {
      this.ownershipLost = true;
      this.abort.abort();
      this.#logger.warn(
        { partition: this.partitionId, sequenceNumber: event.sequenceNumber },
        "checkpoint not written: another replica owns the partition now",
      );
      return;
    }
    if (outcome === "behind") {
      this.#logger.info(
        { partition: this.partitionId, sequenceNumber: event.sequenceNumber },
        "checkpoint not written: the stored one is already further (a newer owner wrote it)",
      );
    } else {
      this.checkpointedSequence = event.sequenceNumber;
    }
    if (this.#pending === event) {
      this.#pending = undefined;
      this.#pendingCount = 0;
    }
    if (this.checkpointedSequence >= this.#lastReceivedSequence || outcome === "behind")
      this.#behindSince = undefined;
  }
}
