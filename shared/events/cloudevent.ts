// The CloudEvents 1.0 envelope (structured JSON mode) every order event travels in.
import { randomUUID } from "node:crypto";
import { z } from "zod";

export const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export const traceparentSchema = z
  .string()
  .regex(TRACEPARENT_PATTERN)
  .refine(
    (v) => !/^[0-9a-f]{2}-0{32}-/.test(v) && !/-0{16}-[0-9a-f]{2}$/.test(v),
    "all-zero trace or span id",
  )
  .describe("W3C trace context (version-traceid-parentid-flags)");

/** The envelope without a typed `data`; each event type narrows `type` and `data`. */
export const cloudEventEnvelope = z.strictObject({
  specversion: z.literal("1.0"),
  id: z.uuid(),
  type: z.string().min(1),
  source: z.string().min(1).describe("URI-reference naming the producer, e.g. /eventfleet/api"),
  time: z.iso.datetime({ offset: true }),
  subject: z.string().min(1).optional(),
  datacontenttype: z.literal("application/json"),
  data: z.unknown(),
  traceparent: traceparentSchema.optional(),
  orderversion: z.number().int().positive().optional().describe("The order's version after this event"),
});

export type CloudEventEnvelope = z.infer<typeof cloudEventEnvelope>;

/** An envelope whose `type` is a literal and whose `data` has its own schema. */
export function cloudEventOf<T extends string, D extends z.ZodType>(type: T, data: D) {
  return cloudEventEnvelope.extend({ type: z.literal(type), data });
}

export interface NewCloudEvent<T extends string, D> {
  type: T;
  source: string;
  subject: string;
  data: D;
  traceparent?: string | undefined;
  orderversion?: number | undefined;
  id?: string;
  time?: Date;
}

export function newCloudEvent<T extends string, D>(event: NewCloudEvent<T, D>) {
  return {
    specversion: "1.0" as const,
    id: event.id ?? randomUUID(),
    type: event.type,
    source: event.source,
    time: (event.time ?? new Date()).toISOString(),
    subject: event.subject,
    datacontenttype: "application/json" as const,
    data: event.data,
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
    ...(event.orderversion !== undefined ? { orderversion: event.orderversion } : {}),
  };
}

/** A fresh W3C traceparent for work that arrives without one. */
export function newTraceparent(): string {
  const hex = (bytes: number) =>
    randomUUID()
      .replaceAll("-", "")
      .slice(0, bytes * 2);
  return `00-${hex(16)}-${hex(8)}-01`;
}
