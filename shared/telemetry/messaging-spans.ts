// Spans for our messaging hops, named and attributed by the OpenTelemetry messaging semantic conventions:
// outbox write = `create`, relay publish = `send`, SQS worker = `process`. The creation context travels in the
// CloudEvent's `traceparent`, so every later hop of an order is in the trace the API request started.
import { ROOT_CONTEXT, SpanKind, context, type Attributes } from "@opentelemetry/api";
import { ENTRY_POINT, failSpan, inSpan, startSpan, type OpenSpan } from "./spans.ts";
import { contextOf } from "./trace-context.ts";
import { tracingActive } from "./tracing-state.ts";

export type MessagingSystem = "aws_sns" | "aws_sqs" | "eventhubs";

/** Span attribute names shared by the order and device flows (ids belong here, never in metric labels). */
export const ATTR = {
  orderId: "eventfleet.order_id",
  deviceId: "eventfleet.device_id",
  eventType: "cloudevents.event_type",
  eventId: "cloudevents.event_id",
  attempt: "eventfleet.attempt",
  reason: "eventfleet.reason",
  idempotentReplay: "eventfleet.idempotent_replay",
} as const;

function messaging(system: MessagingSystem, operation: string, destination: string): Attributes {
  return {
    "messaging.system": system,
    "messaging.operation.type": operation,
    "messaging.operation.name": operation,
    "messaging.destination.name": destination,
  };
}

export interface CreateSpanInput {
  /** The traceparent of whatever caused this message (the request, the event being handled). */
  parent: string | undefined;
  destination: string;
  eventType: string;
  orderId?: string | undefined;
}

/**
 * A `create <destination>` span for one message written to the outbox: its traceparent is the message's creation
 * context (what the CloudEvent carries). Undefined when tracing is off.
 */
export function startCreateSpan(input: CreateSpanInput): OpenSpan | undefined {
  if (!tracingActive()) return undefined;
  return startSpan(
    `create ${input.destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...messaging("aws_sns", "create", input.destination),
        [ATTR.eventType]: input.eventType,
        ...(input.orderId ? { [ATTR.orderId]: input.orderId } : {}),
      },
    },
    contextOf(input.parent, context.active()),
  );
}

/** A follow-up event's traceparent: a `create` span under `parent`, ended at once (the write follows in the handler). */
export function createdTraceparent(input: CreateSpanInput): string | undefined {
  const open = startCreateSpan(input);
  open?.span.end();
  return open?.traceparent;
}

export interface PublishedEntry {
  traceparent: string;
  eventId: string;
  type: string;
}

/** What a batch publish answered: the entries it failed, by the batch entry id. */
export interface BatchPublishAnswer {
  Failed?: { Id?: string | undefined; Code?: string | undefined; Message?: string | undefined }[] | undefined;
}

/** The relay's `send` spans of one PublishBatch: one per entry, each a child of that entry's creation context. */
export interface SendSpans {
  /** Ends every span: those the answer lists as failed (or all, when the call threw) are failed with the reason. */
  end(answer: BatchPublishAnswer | { error: unknown }): void;
}

/** `entries`: the batch by its PublishBatch entry id. */
export function startSendSpans(
  entries: ReadonlyMap<string, PublishedEntry>,
  destination: string,
): SendSpans | undefined {
  if (!tracingActive()) return undefined;
  const spans = new Map(
    [...entries].map(([id, entry]) => [
      id,
      startSpan(
        `send ${destination}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            ...messaging("aws_sns", "send", destination),
            "messaging.message.id": entry.eventId,
            "messaging.batch.message_count": entries.size,
            [ATTR.eventType]: entry.type,
            [ATTR.eventId]: entry.eventId,
          },
        },
        contextOf(entry.traceparent, ROOT_CONTEXT),
      ).span,
    ]),
  );
  return {
    end(answer) {
      if ("error" in answer) {
        for (const span of spans.values()) failSpan(span, answer.error);
      } else {
        for (const failure of answer.Failed ?? []) {
          const span = failure.Id ? spans.get(failure.Id) : undefined;
          const reason = failure.Message ?? failure.Code ?? "failed";
          span?.addEvent("publish_failed", { [ATTR.reason]: reason });
          if (span) failSpan(span, new Error(reason));
        }
      }
      for (const span of spans.values()) span.end();
    },
  };
}

export interface ProcessSpanInput {
  system: MessagingSystem;
  destination: string;
  /** The creation context: the CloudEvent's traceparent (or, failing that, the message attribute's). */
  parent: string | undefined;
  messageId: string | undefined;
  attempt: number;
  /** More attributes known before the work starts (ids read from the message). */
  attributes?: Attributes;
}

/**
 * Runs the handling of one received message in a `process <queue>` span, a child of the message's creation
 * context; a message without one starts its own trace. Each delivery is its own span, so a redelivered message
 * shows every attempt in the same trace.
 */
export function inProcessSpan<T>(input: ProcessSpanInput, work: () => Promise<T>): Promise<T> {
  if (!tracingActive()) return work();
  return inSpan(
    startSpan(
      `process ${input.destination}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...messaging(input.system, "process", input.destination),
          ...(input.messageId ? { "messaging.message.id": input.messageId } : {}),
          [ATTR.attempt]: input.attempt,
          [ENTRY_POINT]: true,
          ...input.attributes,
        },
      },
      contextOf(input.parent, ROOT_CONTEXT),
    ),
    work,
  );
}
