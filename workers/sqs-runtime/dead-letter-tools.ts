// Operator tools for the workers' dead-letter queues: depth, peek (and put back), redrive to the source queue.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { queueName } from "./sqs-worker.ts";

export interface WorkerQueues {
  worker: string;
  queueUrl: string;
  dlqUrl: string;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

export interface DlqStatsRow {
  worker: string;
  dlq: string;
  dead: QueueDepth;
  source: QueueDepth;
}

export async function dlqStats(sqs: SQSClient, queues: readonly WorkerQueues[]): Promise<DlqStatsRow[]> {
  return Promise.all(
    queues.map(async (q) => ({
      worker: q.worker,
      dlq: queueName(q.dlqUrl),
      dead: await queueDepth(sqs, q.dlqUrl),
      source: await queueDepth(sqs, q.queueUrl),
    })),
  );
}

export interface DeadLetter {
  messageId: string;
  body: string;
  reason: string | undefined;
  error: string | undefined;
  attributes: Record<string, string>;
  receiveCount: number;
  sentAt: string | undefined;
}

function toDeadLetter(message: Message): DeadLetter {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.StringValue ?? `(${value.DataType ?? "binary"})`,
    ]),
  );
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    messageId: message.MessageId ?? "",
    body: message.Body ?? "",
    reason: message.MessageAttributes?.reason?.StringValue,
    error: message.MessageAttributes?.error?.StringValue,
    attributes,
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    sentAt: Number.isFinite(sent) ? new Date(sent).toISOString() : undefined,
  };
}

async function receive(
  sqs: SQSClient,
  queueUrl: string,
  max: number,
  visibilitySeconds: number,
): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilitySeconds,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
    }),
  );
  return Messages ?? [];
}

/** Makes messages visible again at once (after a peek, a dry run, or a send that failed). */
async function putBack(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, j) => ({
          Id: String(j),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/**
 * Reads up to `count` dead letters and puts them back at once. Reading counts as a receive (the receive count
 * shown includes this peek); a DLQ has no redrive policy, so that moves nothing.
 */
export async function peekDeadLetters(sqs: SQSClient, dlqUrl: string, count: number): Promise<DeadLetter[]> {
  const seen: Message[] = [];
  try {
    while (seen.length < count) {
      const got = await receive(sqs, dlqUrl, count - seen.length, 30);
      if (got.length === 0) break;
      seen.push(...got);
    }
  } finally {
    await putBack(sqs, dlqUrl, seen);
  }
  return seen.map(toDeadLetter);
}

/** Attributes to send again: exactly what was received (type, traceparent, reason, error, …), values only. */
function resendAttributes(message: Message): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.BinaryValue !== undefined
        ? { DataType: value.DataType ?? "Binary", BinaryValue: value.BinaryValue }
        : { DataType: value.DataType ?? "String", StringValue: value.StringValue ?? "" },
    ]),
  );
}

export interface RedriveOptions {
  /** Move at most this many; never more than the DLQ held when the redrive started. */
  max?: number;
  /** Only count what would move (messages are read and put back). */
  dryRun?: boolean;
  /** Stops between batches (Ctrl-C): what was sent is deleted first, so nothing is lost. */
  signal?: AbortSignal;
  /** Called with (done, total) after each batch. */
  onProgress?: (done: number, total: number) => void;
}

export interface RedriveResult {
  /** The DLQ depth at the start, capped by `max`: the most this run moves. */
  total: number;
  moved: number;
  /** Sends the source queue refused (they stay in the DLQ). */
  failed: number;
  /** In a dry run: how many would move. */
  wouldMove: number;
  interrupted: boolean;
}

/**
 * Moves dead letters back to the worker's queue with body and attributes unchanged. Per batch: send to the source,
 * then delete from the DLQ only what the source accepted, so an interruption can leave at most a duplicate
 * (absorbed by the workers' idempotency), never a loss. Only the messages that were in the DLQ when it started
 * are moved: a message that fails again and comes back is not moved twice in one run.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  queues: Pick<WorkerQueues, "queueUrl" | "dlqUrl">,
  options: RedriveOptions = {},
): Promise<RedriveResult> {
  const depth = await queueDepth(sqs, queues.dlqUrl);
  const total = Math.min(options.max ?? Number.POSITIVE_INFINITY, depth.visible);
  const result: RedriveResult = { total, moved: 0, failed: 0, wouldMove: 0, interrupted: false };
  const held: Message[] = []; // dry run: read, put back at the end (so each is counted once)
  const done = () => result.moved + result.failed + result.wouldMove;
  try {
    while (done() < total) {
      if (options.signal?.aborted) {
        result.interrupted = true;
        break;
      }
      const batch = await receive(sqs, queues.dlqUrl, total - done(), options.dryRun ? 60 : 120);
      if (batch.length === 0) break;
      if (options.dryRun) {
        held.push(...batch);
        result.wouldMove += batch.length;
        options.onProgress?.(done(), total);
        continue;
      }
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queues.queueUrl,
          Entries: batch.map((m, i) => ({
            Id: String(i),
            MessageBody: m.Body ?? "",
            MessageAttributes: resendAttributes(m),
          })),
        }),
      );
      const accepted = new Set((sent.Successful ?? []).map((s) => s.Id));
      const toDelete = batch.filter((_, i) => accepted.has(String(i)));
      const refused = batch.filter((_, i) => !accepted.has(String(i)));
      if (toDelete.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queues.dlqUrl,
            Entries: toDelete.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
      if (refused.length > 0) await putBack(sqs, queues.dlqUrl, refused);
      result.moved += toDelete.length;
      result.failed += refused.length;
      options.onProgress?.(done(), total);
    }
  } finally {
    if (held.length > 0) await putBack(sqs, queues.dlqUrl, held);
  }
  return result;
}
