// `eventfleet deadletter stats | peek | replay`: inspect the telemetry dead-letter queue and write its events after a fix.
import type { EventHubProducerClient } from "@azure/event-hubs";
import type { ContainerClient } from "@azure/storage-blob";
import type { DequeuedMessageItem, QueueClient } from "@azure/storage-queue";
import { errorMessage } from "../../shared/errors.ts";
import { parseDeadLetterMessage, type DeadLetterMessage } from "./dead-letter-message.ts";
import { deviceStateDocument, telemetryDocument } from "./device-documents.ts";
import type { DeviceStore } from "./device-store.ts";
import { decodeDeviceEvent, type EventPosition } from "./event-decoding.ts";
import { RetryAbandonedError } from "./retry-backoff.ts";

/** Storage Queue's limit per peek or receive call. */
const PAGE = 32;

export interface DeadLetterStats {
  approximateMessages: number;
  /** Reasons among the messages at the front of the queue (a peek sees at most 32). */
  sampled: number;
  byReason: Record<string, number>;
  bodiesInBlobs: number;
}

export async function deadLetterStats(queue: QueueClient, blobs: ContainerClient): Promise<DeadLetterStats> {
  const [properties, peeked] = await Promise.all([
    queue.getProperties(),
    queue.peekMessages({ numberOfMessages: PAGE }),
  ]);
  const byReason: Record<string, number> = {};
  for (const message of peeked.peekedMessageItems) {
    let reason = "unreadable";
    try {
      reason = parseDeadLetterMessage(message.messageText).reason;
    } catch {
      // counted as unreadable
    }
    byReason[reason] = (byReason[reason] ?? 0) + 1;
  }
  let bodiesInBlobs = 0;
  if (await blobs.exists()) for await (const _ of blobs.listBlobsFlat()) bodiesInBlobs += 1;
  return {
    approximateMessages: properties.approximateMessagesCount ?? 0,
    sampled: peeked.peekedMessageItems.length,
    byReason,
    bodiesInBlobs,
  };
}

export interface PeekedDeadLetter {
  messageId: string;
  dequeueCount: number;
  letter?: DeadLetterMessage;
  /** The body as text (or base64), or where it is stored; cut to `previewChars`. */
  bodyPreview: string;
  unreadable?: string;
}

/** The first `n` (at most 32) dead letters, without hiding them from anyone. */
export async function peekDeadLetters(
  queue: QueueClient,
  n: number,
  previewChars = 300,
): Promise<PeekedDeadLetter[]> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: Math.min(PAGE, n) });
  return peekedMessageItems.map((m) => {
    try {
      const letter = parseDeadLetterMessage(m.messageText);
      const body = letter.body;
      const preview =
        body.location === "blob"
          ? `(${letter.bodyBytes} bytes in blob ${body.container}/${body.blobName})`
          : body.encoding === "base64"
            ? `base64:${body.data}`
            : body.data;
      return {
        messageId: m.messageId,
        dequeueCount: m.dequeueCount,
        letter,
        bodyPreview: preview.length > previewChars ? `${preview.slice(0, previewChars)}…` : preview,
      };
    } catch (error) {
      return {
        messageId: m.messageId,
        dequeueCount: m.dequeueCount,
        bodyPreview: m.messageText.slice(0, previewChars),
        unreadable: errorMessage(error),
      };
    }
  });
}

export interface ReplayOptions {
  queue: QueueClient;
  blobs: ContainerClient;
  /** `cosmos`: write documents directly (ids as the worker would have made them); `eventhub`: send the body again. */
  target:
    | { to: "cosmos"; store: Pick<DeviceStore, "writeTelemetry" | "updateDeviceStates"> }
    | {
        to: "eventhub";
        producer: EventHubProducerClient;
      };
  maxEventBytes: number;
  /** Stop after this many messages looked at. */
  max: number;
  /** Only count what would be replayed, by peeking (at most DRY_RUN_LIMIT messages); changes nothing. */
  dryRun: boolean;
  /** Aborting (Ctrl-C) stops after the page in hand; unfinished messages are made visible again. */
  signal: AbortSignal;
  /**
   * How long received messages stay hidden while this run works on them. Default 300 s: a run sees each message
   * once; if the process dies, they reappear by themselves after this.
   */
  visibilityTimeoutSeconds?: number;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  seen: number;
  replayed: number;
  /** Still invalid (or refused again): left in the queue, with why. */
  kept: number;
  keptReasons: Record<string, number>;
  /** Valid now; would be replayed without --dry-run. */
  wouldReplay: number;
}

interface Candidate {
  message: DequeuedMessageItem;
  letter: DeadLetterMessage;
  bytes: Buffer;
}

async function bodyOf(letter: DeadLetterMessage, blobs: ContainerClient): Promise<Buffer> {
  const body = letter.body;
  if (body.location === "inline")
    return Buffer.from(body.data, body.encoding === "base64" ? "base64" : "utf8");
  return blobs.getBlockBlobClient(body.blobName).downloadToBuffer();
}

const unreadableReason = (error: unknown) => `unreadable: ${errorMessage(error).slice(0, 60)}`;

const positionOf = (letter: DeadLetterMessage): EventPosition => ({
  partitionId: letter.partitionId,
  sequenceNumber: letter.sequenceNumber,
  offset: letter.offset,
  enqueuedTime: new Date(letter.enqueuedTime),
});

/**
 * `replay --dry-run`: re-validates the first messages by peeking, so nothing changes, not even a message's dequeue
 * count (a receive would raise it). A peek sees at most 32 messages, so a dry run looks at no more than those.
 */
async function checkDeadLetters(options: ReplayOptions): Promise<ReplayProgress> {
  const progress: ReplayProgress = { seen: 0, replayed: 0, kept: 0, keptReasons: {}, wouldReplay: 0 };
  const keep = (reason: string) => {
    progress.kept += 1;
    progress.keptReasons[reason] = (progress.keptReasons[reason] ?? 0) + 1;
  };
  const { peekedMessageItems } = await options.queue.peekMessages({
    numberOfMessages: Math.min(PAGE, options.max),
  });
  for (const message of peekedMessageItems) {
    if (options.signal.aborted) break;
    progress.seen += 1;
    try {
      const letter = parseDeadLetterMessage(message.messageText);
      const bytes = await bodyOf(letter, options.blobs);
      const decoded = decodeDeviceEvent(bytes, positionOf(letter), options.maxEventBytes);
      if (decoded.valid) progress.wouldReplay += 1;
      else keep(decoded.reason);
    } catch (error) {
      keep(unreadableReason(error));
    }
    options.onProgress?.({ ...progress });
  }
  return progress;
}

/** The most messages a dry run looks at (one peek). */
export const DRY_RUN_LIMIT = PAGE;

/**
 * Re-validates dead letters and writes the valid ones; a message is deleted only after its event was written, and
 * its blob (if any) after that. Still-invalid messages stay in the queue. Safe to interrupt at any point: a written
 * but undeleted message is replayed again later, which overwrites the same document.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayProgress> {
  if (options.dryRun) return checkDeadLetters(options);
  const { queue, blobs, target } = options;
  const progress: ReplayProgress = { seen: 0, replayed: 0, kept: 0, keptReasons: {}, wouldReplay: 0 };
  const release: DequeuedMessageItem[] = [];
  /** Received in this page and neither deleted nor kept yet: released too if the run stops halfway. */
  const inHand = new Set<DequeuedMessageItem>();
  const keep = (message: DequeuedMessageItem, reason: string) => {
    progress.kept += 1;
    progress.keptReasons[reason] = (progress.keptReasons[reason] ?? 0) + 1;
    release.push(message);
  };
  try {
    while (progress.seen < options.max && !options.signal.aborted) {
      const { receivedMessageItems } = await queue.receiveMessages({
        numberOfMessages: Math.min(PAGE, options.max - progress.seen),
        visibilityTimeout: options.visibilityTimeoutSeconds ?? 300,
      });
      if (receivedMessageItems.length === 0) break;
      progress.seen += receivedMessageItems.length;
      for (const m of receivedMessageItems) inHand.add(m);
      const candidates: Candidate[] = [];
      for (const message of receivedMessageItems) {
        try {
          const letter = parseDeadLetterMessage(message.messageText);
          candidates.push({ message, letter, bytes: await bodyOf(letter, blobs) });
        } catch (error) {
          keep(message, unreadableReason(error));
        }
      }
      const valid = [];
      for (const c of candidates) {
        const position = positionOf(c.letter);
        const decoded = decodeDeviceEvent(c.bytes, position, options.maxEventBytes);
        if (!decoded.valid) keep(c.message, decoded.reason);
        else valid.push({ ...c, decoded });
      }
      if (valid.length > 0) {
        const written = new Set<Candidate>(valid);
        if (target.to === "cosmos") {
          const documents = valid.map((v) =>
            telemetryDocument(v.decoded.event, v.decoded.documentId, v.decoded.position),
          );
          const rejected = await target.store.writeTelemetry(documents, options.signal);
          for (const r of rejected) {
            const v = valid.find((x) => x.decoded.documentId === r.document.id)!;
            written.delete(v);
            keep(v.message, "cosmos_rejected");
          }
          const now = new Date();
          await target.store.updateDeviceStates(
            valid
              .filter((v) => written.has(v))
              .map((v) => deviceStateDocument(v.decoded.event, v.decoded.documentId, now)),
            options.signal,
          );
        } else {
          for (const v of valid) {
            await target.producer.sendBatch([{ body: v.bytes }], { partitionKey: v.decoded.event.deviceId });
          }
        }
        for (const v of written) {
          await queue.deleteMessage(v.message.messageId, v.message.popReceipt);
          inHand.delete(v.message);
          progress.replayed += 1;
          if (v.letter.body.location === "blob") {
            await blobs.getBlockBlobClient(v.letter.body.blobName).deleteIfExists();
          }
        }
      }
      for (const m of release) inHand.delete(m);
      options.onProgress?.({ ...progress });
    }
  } catch (error) {
    // Interrupted while Cosmos was being retried: stop here; what is in hand goes back to the queue below.
    if (!(error instanceof RetryAbandonedError)) throw error;
  } finally {
    // Kept, dry-run and unfinished messages become visible again at once instead of after the visibility timeout.
    await Promise.allSettled(
      [...release, ...inHand].map((m) => queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)),
    );
  }
  return progress;
}
