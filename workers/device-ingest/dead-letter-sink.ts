// Sends invalid or unwritable device events to the Storage Queue, large bodies to Blob storage, until durable.
import type { ContainerClient } from "@azure/storage-blob";
import type { QueueClient } from "@azure/storage-queue";
import type { Logger } from "../../shared/logger.ts";
import { describeFailure, toFailure } from "./dependency-errors.ts";
import {
  deadLetterBlobName,
  inlineBody,
  MAX_INLINE_MESSAGE_BYTES,
  type DeadLetterMessage,
} from "./dead-letter-message.ts";
import type { EventPosition } from "./event-decoding.ts";
import type { IngestMetrics } from "./ingest-metrics.ts";
import { backoffMs, pause, type BackoffPolicy } from "./retry-backoff.ts";

export interface DeadLetter {
  reason: string;
  error: string;
  position: EventPosition;
  bytes: Buffer;
}

export interface DeadLetterSinkOptions {
  queue: QueueClient;
  blobs: ContainerClient;
  eventHub: string;
  consumerGroup: string;
  backoff: BackoffPolicy;
  metrics: Pick<IngestMetrics, "deadLetters">;
  logger: Logger;
  now?: () => Date;
}

/** Dead letters never expire: they wait for `eventfleet deadletter replay` or an operator. */
const NEVER_EXPIRES = -1;
/** Sends in flight at once per batch: enough to hide round trips, few enough not to be throttled. */
const CONCURRENCY = 16;
const MAX_ERROR_LENGTH = 2000;

/**
 * JSON that is also valid XML text (queue messages travel in XML): U+FFFE and U+FFFF are not XML characters and
 * JSON.stringify leaves them raw, so they are written as \\u escapes, which JSON reads back as the same string.
 */
export function queueSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** The size of `text` once XML-escaped in the request (& → &amp; and so on): what the 64 KiB limit sees. */
export function xmlEncodedBytes(text: string): number {
  let extra = 0;
  for (const c of text) {
    if (c === "&") extra += 4;
    else if (c === "<" || c === ">") extra += 3;
    else if (c === '"' || c === "'") extra += 5;
  }
  return Buffer.byteLength(text, "utf8") + extra;
}

export class DeadLetterSink {
  readonly #options: DeadLetterSinkOptions;

  constructor(options: DeadLetterSinkOptions) {
    this.#options = options;
  }

  /**
   * The queue message for one dead letter; writes the body to a blob first when it is too large to inline (or when
   * the queue refused the inline form, `toBlob`).
   */
  async #message(letter: DeadLetter, toBlob: boolean): Promise<string> {
    const { eventHub, consumerGroup, blobs } = this.#options;
    const base: Omit<DeadLetterMessage, "body"> = {
      version: 1,
      reason: letter.reason,
      error: letter.error.slice(0, MAX_ERROR_LENGTH),
      eventHub,
      consumerGroup,
      partitionId: letter.position.partitionId,
      sequenceNumber: letter.position.sequenceNumber,
      offset: letter.position.offset,
      enqueuedTime: letter.position.enqueuedTime.toISOString(),
      deadLetteredAt: (this.#options.now?.() ?? new Date()).toISOString(),
      bodyBytes: letter.bytes.length,
    };
    const inline = queueSafeJson({ ...base, body: inlineBody(letter.bytes) });
    if (!toBlob && xmlEncodedBytes(inline) <= MAX_INLINE_MESSAGE_BYTES) return inline;
    const blobName = deadLetterBlobName(
      eventHub,
      consumerGroup,
      letter.position.partitionId,
      letter.position.sequenceNumber,
    );
    await blobs.getBlockBlobClient(blobName).uploadData(letter.bytes, {
      metadata: { reason: letter.reason, partition: letter.position.partitionId },
    });
    return queueSafeJson({ ...base, body: { location: "blob", container: blobs.containerName, blobName } });
  }

  async #sendOne(letter: DeadLetter, signal: AbortSignal): Promise<void> {
    let toBlob = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const text = await this.#message(letter, toBlob);
        await this.#options.queue.sendMessage(text, { messageTimeToLive: NEVER_EXPIRES });
        this.#options.metrics.deadLetters.inc({ reason: letter.reason });
        return;
      } catch (error) {
        // Every storage failure is retried: a dead letter has nowhere else to go, and the partition must wait.
        // A message the queue refuses as such (400, 413) is sent again in its smallest form: body in a blob.
        const failure = toFailure(error);
        if (failure.status === 400 || failure.status === 413) toBlob = true;
        const ms = backoffMs(this.#options.backoff, attempt, failure.retryAfterMs);
        this.#options.logger[attempt >= 3 ? "warn" : "info"](
          { attempt, retryInMs: ms, error: describeFailure(failure) },
          "dead-letter send failed; retrying (the partition waits, nothing is checkpointed)",
        );
        await pause(ms, signal);
      }
    }
  }

  /** Resolves once every letter is durably in the queue (and its blob); throws only when `signal` aborts. */
  async send(letters: DeadLetter[], signal: AbortSignal): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < letters.length) await this.#sendOne(letters[next++]!, signal);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, letters.length) }, worker));
  }
}
