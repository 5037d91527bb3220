// Sends one message to a dead-letter queue: the original body and attributes, plus why (`reason`, `error`).
import {
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/** SQS allows at most 10 message attributes; ours take two of them. */
const MAX_ATTRIBUTES = 10;
/** The error text is for people; keep it short so that a large body still fits the 256 KiB limit. */
const MAX_ERROR_LENGTH = 1000;

export interface DeadLetterCause {
  /** Short machine-readable reason, e.g. `schema_invalid`, `webhook_rejected`. */
  reason: string;
  /** What went wrong, for the operator reading `dlq peek`. */
  error: string;
}

/** The attributes a dead letter carries: the original ones (minus an older reason/error) then reason and error. */
export function deadLetterAttributes(
  original: Record<string, MessageAttributeValue> | undefined,
  cause: DeadLetterCause,
): Record<string, MessageAttributeValue> {
  const kept = Object.entries(original ?? {})
    .filter(([name]) => name !== "reason" && name !== "error")
    .slice(0, MAX_ATTRIBUTES - 2);
  return {
    ...Object.fromEntries(kept),
    reason: { DataType: "String", StringValue: cause.reason || "unknown" },
    error: { DataType: "String", StringValue: (cause.error || "unknown").slice(0, MAX_ERROR_LENGTH) },
  };
}

export async function sendToDeadLetterQueue(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  message: Message,
  cause: DeadLetterCause,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: deadLetterQueueUrl,
      // An empty body cannot be sent; a placeholder keeps the dead letter inspectable.
      MessageBody: message.Body && message.Body.length > 0 ? message.Body : "(empty body)",
      MessageAttributes: deadLetterAttributes(message.MessageAttributes, cause),
    }),
  );
}
