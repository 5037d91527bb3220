// The SQS worker's hooks: a `process <queue>` span per delivery, with the retry / dead-letter / duplicate outcome.
import { errorMessage } from "../errors.ts";
import { ATTR, inProcessSpan } from "./messaging-spans.ts";
import { recordSpanEvent } from "./spans.ts";
import { tracingActive } from "./tracing-state.ts";

/** What we read of a received SQS message (structurally the SDK's Message). */
export interface ReceivedSqsMessage {
  Body?: string | undefined;
  MessageId?: string | undefined;
  MessageAttributes?: Record<string, { StringValue?: string | undefined }> | undefined;
  Attributes?: Partial<Record<string, string>> | undefined;
}

interface EventFields {
  id?: unknown;
  type?: unknown;
  traceparent?: unknown;
  data?: { orderId?: unknown } | null;
}

function eventFields(body: string | undefined): EventFields {
  try {
    const parsed = JSON.parse(body ?? "") as unknown;
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined);

/**
 * Handles one delivery inside `process <queue>`, a child of the CloudEvent's own traceparent (the creation
 * context), falling back to the `traceparent` message attribute; never the context an SDK may have added.
 */
export function inSqsProcessSpan<T>(
  message: ReceivedSqsMessage,
  queue: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingActive()) return work();
  const event = eventFields(message.Body);
  const orderId = text(event.data?.orderId);
  return inProcessSpan(
    {
      system: "aws_sqs",
      destination: queue,
      parent: text(event.traceparent) ?? message.MessageAttributes?.traceparent?.StringValue,
      messageId: message.MessageId,
      attempt: Number(message.Attributes?.ApproximateReceiveCount ?? "1") || 1,
      attributes: {
        ...(orderId ? { [ATTR.orderId]: orderId } : {}),
        ...(text(event.id) ? { [ATTR.eventId]: text(event.id) } : {}),
        ...(text(event.type) ? { [ATTR.eventType]: text(event.type) } : {}),
      },
    },
    work,
  );
}

/** This attempt failed and the message comes back after `delaySeconds`. */
export function recordRetry(error: unknown, attempt: number, delaySeconds: number): void {
  recordSpanEvent("retry", {
    [ATTR.reason]: errorMessage(error),
    [ATTR.attempt]: attempt,
    "eventfleet.retry.delay_seconds": delaySeconds,
  });
}

/** The message went to the dead-letter queue, and why. */
export function recordDeadLetter(reason: string, error: string, deadLetterQueue: string): void {
  recordSpanEvent("dead_letter", {
    [ATTR.reason]: reason,
    "eventfleet.error": error,
    "messaging.destination.name": deadLetterQueue,
  });
}

export function recordDuplicate(): void {
  recordSpanEvent("duplicate", { [ATTR.reason]: "already processed" });
}
