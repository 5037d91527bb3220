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
import { inDeviceBatchSpan, recordDeviceOutcomes } from "../../shared/telemetry/device-spans.ts";
import type { Logger } from "../../shared/logger.ts";
import type { DeadLetterSink } from "./dead-letter-sink.ts";
import type { DeviceIngestOptions } from "./device-ingest-options.ts";
import type { DeviceStore } from "./device-store.ts";
import { bodyBytes } from "./event-decoding.ts";
import { ingestBatch, type ReceivedBody } from "./ingest-batch.ts";
import type { IngestMetrics } from "./ingest-metrics.ts";
import type { ReceiveSizing } from "./memory-budget.ts";
import { OwnershipLostError } from "./partition-ownership.ts";
import { PartitionProcessor, type OwnershipRecords } from "./partition-processor.ts";
import { RetryAbandonedError } from "./retry-backoff.ts";

export interface DeviceIngestDependencies {
  /** Built with the load-balancing options and a BlobCheckpointStore (event-hub-consumer.ts). */
  consumer: EventHubConsumerClient;
  store: Pick<DeviceStore, "writeTelemetry" | "updateDeviceStates">;
  deadLetters: Pick<DeadLetterSink, "send">;
  /** The ownership and checkpoint records this replica checks before each batch and each checkpoint. */
  ownership: OwnershipRecords;
  metrics: IngestMetrics;
  logger: Logger;
  options: DeviceIngestOptions;
}

export class DeviceIngest {
  readonly #deps: DeviceIngestDependencies;
  readonly #partitions = new Map<PartitionContext, PartitionProcessor>();
  #subscription: Subscription | undefined;
  #stopping: Promise<void> | undefined;

  constructor(deps: DeviceIngestDependencies) {
    this.#deps = deps;
  }

  /**
   * Subscribes the consumer group; partitions are claimed by the load balancer from here on. `sizing` (batch size
   * and prefetch from the memory budget, memory-budget.ts) defaults to the options' batch size, one batch ahead.
   */
  start(sizing?: Pick<ReceiveSizing, "maxBatchSize" | "prefetchCount">): void {
    if (this.#stopping || this.#subscription) return;
    const { consumer, options } = this.#deps;
    sizing ??= { maxBatchSize: options.maxBatchSize, prefetchCount: options.maxBatchSize };
    this.#subscription = consumer.subscribe(
      {
        processInitialize: (context) => Promise.resolve(this.#initialize(context)),
        processEvents: async (events, context) => this.#processEvents(events, context),
        processError: (error, context) => Promise.resolve(this.#processError(error, context)),
        processClose: async (reason, context) => this.#close(reason, context),
      },
      {
        maxBatchSize: sizing.maxBatchSize,
        // Bounded: the SDK's default (3 × batch size) per partition is what let large events exhaust memory.
        prefetchCount: sizing.prefetchCount,
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

  /** The partitions this replica processes now, and when the SDK last handed each a batch (empty or not). */
  ownedPartitions(): { partitionId: string; lastReceiveAt: number; busy: boolean }[] {
    return [...this.#partitions.values()]
      .filter((p) => !p.ownershipLost)
      .map((p) => ({
        partitionId: p.partitionId,
        lastReceiveAt: p.lastReceiveAt,
        busy: p.inFlight !== undefined,
      }));
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
    const { ownership, logger, options } = this.#deps;
    this.#partitions.set(context, new PartitionProcessor(context, { ownership, logger, options }));
    this.#deps.metrics.ownedPartitions.set(this.#partitions.size);
    this.#deps.logger.info({ partition: context.partitionId }, "partition claimed");
  }

  #state(context: PartitionContext): PartitionProcessor {
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
    const work = inDeviceBatchSpan(events, context.eventHubName, context.partitionId, () =>
      this.#handle(events, context, state),
    );
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
    state: PartitionProcessor,
  ): Promise<void> {
    const { metrics, options, logger } = this.#deps;
    const partition = context.partitionId;
    state.received(events);
    if (events.length > 0) {
      // Only the recorded owner reads a partition: a replica paused past its ownership gives it up here.
      await state.assertOwner();
      const last = events[events.length - 1]!;
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
      recordDeviceOutcomes(events, context.eventHubName, partition, result.deadLettered);
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
      state.durable(last, events.length);
    }
    const lastEnqueued = context.lastEnqueuedEventProperties?.sequenceNumber;
    const processed = state.processedSequence;
    if (lastEnqueued !== undefined && processed >= 0) {
      metrics.partitionLag.set({ partition }, Math.max(0, lastEnqueued - processed));
    }
    if (state.checkpointDue) await state.checkpoint();
    metrics.checkpointAge.set({ partition }, state.checkpointAgeSeconds);
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
      await state.checkpoint();
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
    if (error instanceof OwnershipLostError) {
      this.#deps.logger.warn({ partition: context.partitionId }, error.message);
      return;
    }
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
