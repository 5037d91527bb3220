// The device-ingest component: an Event Hubs consumer group subscription whose batches become durable, then checkpointed.
import {
  CloseReason,
  earliestEventPosition,
  latestEventPosition,
  type EventHubConsumerClient,
  type PartitionContext,
  type ReceivedEventData,
  type Subscription,
} from "@azure/event-hubs";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { DeadLetterSink } from "./dead-letter-sink.ts";
import type { DeviceIngestOptions } from "./device-ingest-options.ts";
import type { DeviceStore } from "./device-store.ts";
import { bodyBytes } from "./event-decoding.ts";
import { ingestBatch, type ReceivedBody } from "./ingest-batch.ts";
import type { IngestMetrics } from "./ingest-metrics.ts";
import { RetryAbandonedError } from "./retry-backoff.ts";

export interface DeviceIngestDependencies {
  /** Built with the load-balancing options and a BlobCheckpointStore (event-hub-consumer.ts). */
  consumer: EventHubConsumerClient;
  store: Pick<DeviceStore, "writeTelemetry" | "updateDeviceStates">;
  deadLetters: Pick<DeadLetterSink, "send">;
  metrics: IngestMetrics;
  logger: Logger;
  options: DeviceIngestOptions;
}

/** What this replica knows about one partition it owns. */
class PartitionState {
  readonly partitionId: string;
  /** Aborts retries of the batch in flight: ownership lost, or the shutdown drain budget ran out. */
  readonly abort = new AbortController();
  inFlight: Promise<void> | undefined;
  /** The last durable event not yet checkpointed, and how many durable events that covers. */
  pending: ReceivedEventData | undefined;
  pendingCount = 0;
  firstPendingAt = 0;
  /** Since when the checkpoint has been behind the events received (undefined when caught up). */
  behindSince: number | undefined;
  lastReceivedSequence = -1;
  checkpointedSequence = -1;
  /**
   * Another replica owns the partition now. From here on we never checkpoint it: our checkpoint could land after
   * the new owner's and move it back (harmless redelivery, but a checkpoint left behind the last event).
   */
  ownershipLost = false;

  constructor(partitionId: string) {
    this.partitionId = partitionId;
  }
}

export class DeviceIngest {
  readonly #deps: DeviceIngestDependencies;
  readonly #partitions = new Map<PartitionContext, PartitionState>();
  #subscription: Subscription | undefined;
  #stopping: Promise<void> | undefined;

  constructor(deps: DeviceIngestDependencies) {
    this.#deps = deps;
  }

  /** Subscribes the consumer group; partitions are claimed by the load balancer from here on. */
  start(): void {
    const { consumer, options } = this.#deps;
    this.#subscription = consumer.subscribe(
      {
        processInitialize: (context) => Promise.resolve(this.#initialize(context)),
        processEvents: async (events, context) => this.#processEvents(events, context),
        processError: (error, context) => Promise.resolve(this.#processError(error, context)),
        processClose: async (reason, context) => this.#close(reason, context),
      },
      {
        maxBatchSize: options.maxBatchSize,
        maxWaitTimeInSeconds: options.maxWaitMs / 1000,
        startPosition: options.startPosition === "earliest" ? earliestEventPosition : latestEventPosition,
        // Partition lag comes from the receiver's runtime metrics: last enqueued minus last processed.
        trackLastEnqueuedEventProperties: true,
        // We parse bodies ourselves, so invalid JSON is seen as such and dead-lettered byte for byte.
        skipParsingBodyAsJson: true,
      },
    );
  }

  /** Subscribed and not stopping: what readiness reports as the work loop. */
  get subscribed(): boolean {
    return this.#stopping === undefined && this.#subscription?.isRunning === true;
  }

  /**
   * Stops receiving, lets each partition finish its batch (within drainTimeoutMs) and checkpoint, then closes the
   * subscription, which gives up ownership at once so other replicas take the partitions in one interval.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const drain = setTimeout(() => {
        for (const state of this.#partitions.values()) state.abort.abort();
      }, this.#deps.options.drainTimeoutMs);
      try {
        await this.#subscription?.close();
      } finally {
        clearTimeout(drain);
        await this.#deps.consumer.close();
      }
    })();
    return this.#stopping;
  }

  #initialize(context: PartitionContext): void {
    this.#partitions.set(context, new PartitionState(context.partitionId));
    this.#deps.metrics.ownedPartitions.set(this.#partitions.size);
    this.#deps.logger.info({ partition: context.partitionId }, "partition claimed");
  }

  #state(context: PartitionContext): PartitionState {
    let state = this.#partitions.get(context);
    if (!state) {
      // processInitialize failed or raced; start tracking now rather than lose the batch.
      this.#initialize(context);
      state = this.#partitions.get(context)!;
    }
    return state;
  }

  async #processEvents(events: ReceivedEventData[], context: PartitionContext): Promise<void> {
    const state = this.#state(context);
    const work = this.#handle(events, context, state);
    state.inFlight = work.then(
      () => undefined,
      () => undefined,
    );
    try {
      await work;
    } finally {
      state.inFlight = undefined;
    }
  }

  async #handle(
    events: ReceivedEventData[],
    context: PartitionContext,
    state: PartitionState,
  ): Promise<void> {
    const { metrics, options, logger } = this.#deps;
    const partition = context.partitionId;
    if (events.length > 0) {
      const last = events[events.length - 1]!;
      if (state.behindSince === undefined) state.behindSince = Date.now();
      state.lastReceivedSequence = last.sequenceNumber;
      const bodies: ReceivedBody[] = events.map((e) => ({
        bytes: bodyBytes(e.body),
        position: {
          partitionId: partition,
          sequenceNumber: e.sequenceNumber,
          offset: String(e.offset),
          enqueuedTime: e.enqueuedTimeUtc,
        },
      }));
      const stopTimer = metrics.batchDuration.startTimer();
      let result;
      try {
        result = await ingestBatch(
          bodies,
          { ...this.#deps, maxEventBytes: options.maxEventBytes },
          state.abort.signal,
        );
      } catch (error) {
        if (error instanceof RetryAbandonedError) {
          logger.warn(
            { partition, from: events[0]!.sequenceNumber, to: last.sequenceNumber },
            "batch given up unwritten (partition closing); not checkpointed, the next owner reads it again",
          );
        }
        throw error;
      }
      stopTimer();
      if (result.stored > 0) metrics.events.inc({ partition, outcome: "stored" }, result.stored);
      if (result.deadLettered.length > 0) {
        metrics.events.inc({ partition, outcome: "dead_letter" }, result.deadLettered.length);
        for (const letter of result.deadLettered) {
          logger.info(
            { partition, sequenceNumber: letter.position.sequenceNumber, reason: letter.reason },
            `event dead-lettered: ${letter.error}`,
          );
        }
      }
      if (state.pending === undefined) state.firstPendingAt = Date.now();
      state.pending = last;
      state.pendingCount += events.length;
    }
    const lastEnqueued = context.lastEnqueuedEventProperties?.sequenceNumber;
    const processed = state.pending?.sequenceNumber ?? state.checkpointedSequence;
    if (lastEnqueued !== undefined && processed >= 0) {
      metrics.partitionLag.set({ partition }, Math.max(0, lastEnqueued - processed));
    }
    if (
      state.pending &&
      (state.pendingCount >= options.checkpointEveryEvents ||
        Date.now() - state.firstPendingAt >= options.checkpointIntervalMs)
    ) {
      await this.#checkpoint(context, state);
    }
    metrics.checkpointAge.set(
      { partition },
      state.behindSince === undefined ? 0 : (Date.now() - state.behindSince) / 1000,
    );
  }

  /** Checkpoints the last durable event. A failure is logged and retried with the next batch, never thrown. */
  async #checkpoint(context: PartitionContext, state: PartitionState): Promise<void> {
    const event = state.pending;
    if (!event || state.ownershipLost) return;
    try {
      await context.updateCheckpoint(event);
    } catch (error) {
      this.#deps.logger.warn(
        { partition: state.partitionId, sequenceNumber: event.sequenceNumber, err: errorMessage(error) },
        "checkpoint failed; will retry (events are durable, a restart would redeliver and overwrite them)",
      );
      return;
    }
    state.checkpointedSequence = event.sequenceNumber;
    if (state.pending === event) {
      state.pending = undefined;
      state.pendingCount = 0;
    }
    if (state.checkpointedSequence >= state.lastReceivedSequence) state.behindSince = undefined;
  }

  async #close(reason: CloseReason, context: PartitionContext): Promise<void> {
    const state = this.#partitions.get(context);
    const partition = context.partitionId;
    if (state) {
      // Ownership lost: another replica now reads from our last checkpoint, so stop retrying at once; leave the
      // checkpoint to it. Shutdown (ours, or the pump after an error): finish the batch, then checkpoint it.
      if (reason === CloseReason.OwnershipLost) {
        state.ownershipLost = true;
        state.abort.abort();
      }
      await state.inFlight;
      await this.#checkpoint(context, state);
      this.#partitions.delete(context);
    }
    const { metrics } = this.#deps;
    metrics.ownedPartitions.set(this.#partitions.size);
    metrics.partitionLag.remove({ partition });
    metrics.checkpointAge.remove({ partition });
    this.#deps.logger.info(
      { partition, reason, checkpointedSequence: state?.checkpointedSequence },
      "partition closed",
    );
  }

  #processError(error: Error, context: PartitionContext): void {
    if (error instanceof RetryAbandonedError) return;
    this.#deps.logger.warn(
      {
        partition: context.partitionId || undefined,
        err: errorMessage(error),
        code: (error as { code?: string }).code,
      },
      context.partitionId
        ? "error on partition"
        : "error in the subscription (load balancing, checkpoint store)",
    );
  }
}
