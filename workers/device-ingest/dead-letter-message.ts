// The dead-letter message format of Storage Queue `<env>-telemetry-deadletter`: written by the worker, read by the tools.
import { z } from "zod";

/**
 * A queue message must stay under 64 KiB; bodies whose message would exceed this go to Blob container
 * `<env>-deadletter` and the message points there. 48 KiB leaves room for XML escaping of the text.
 */
export const MAX_INLINE_MESSAGE_BYTES = 48 * 1024;

export const deadLetterBody = z.discriminatedUnion("location", [
  z.object({
    location: z.literal("inline"),
    /** utf8 when the body is valid UTF-8 text (readable in `peek`), else base64. */
    encoding: z.enum(["utf8", "base64"]),
    data: z.string(),
  }),
  z.object({ location: z.literal("blob"), container: z.string(), blobName: z.string() }),
]);

export const deadLetterMessage = z.object({
  version: z.literal(1),
  /** Machine-readable reason: invalid_json, missing_device_id, schema_invalid, too_large, cosmos_rejected. */
  reason: z.string(),
  /** What was wrong, for the operator. */
  error: z.string(),
  eventHub: z.string(),
  consumerGroup: z.string(),
  partitionId: z.string(),
  sequenceNumber: z.number().int(),
  offset: z.string(),
  enqueuedTime: z.string(),
  deadLetteredAt: z.string(),
  bodyBytes: z.number().int().min(0),
  body: deadLetterBody,
});

export type DeadLetterMessage = z.infer<typeof deadLetterMessage>;
export type DeadLetterBody = z.infer<typeof deadLetterBody>;

/** The inline form of a body: text when it round-trips as UTF-8, base64 otherwise. */
export function inlineBody(bytes: Buffer): DeadLetterBody {
  const text = bytes.toString("utf8");
  return Buffer.from(text, "utf8").equals(bytes)
    ? { location: "inline", encoding: "utf8", data: text }
    : { location: "inline", encoding: "base64", data: bytes.toString("base64") };
}

/** The blob of a dead-lettered body: named by its place in the hub, so a redelivered event overwrites its own. */
export function deadLetterBlobName(
  eventHub: string,
  consumerGroup: string,
  partitionId: string,
  sequenceNumber: number,
): string {
  return `${eventHub}/${encodeURIComponent(consumerGroup)}/${partitionId}/${sequenceNumber}.bin`;
}

/** Parses a queue message's text; throws with the reason when it is not one of ours. */
export function parseDeadLetterMessage(text: string): DeadLetterMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Some tools base64-encode queue messages; accept that too.
    json = JSON.parse(Buffer.from(text, "base64").toString("utf8"));
  }
  return deadLetterMessage.parse(json);
}
