// Turns one received Event Hubs body into a valid device event or a dead-letter reason; nothing else decides that.
import { deviceDocumentId, deviceEvent, type DeviceEvent } from "../../shared/events/device-event.ts";

/** Why an event cannot be stored: a metric label and the `reason` of its dead letter. */
export type InvalidReason = "invalid_json" | "missing_device_id" | "schema_invalid" | "too_large";

/** Where an event sits in the hub: its identity for ids, dead letters and checkpoints. */
export interface EventPosition {
  partitionId: string;
  sequenceNumber: number;
  offset: string;
  enqueuedTime: Date;
}

export type DecodedEvent =
  | { valid: true; event: DeviceEvent; documentId: string; position: EventPosition; bytes: Buffer }
  | { valid: false; reason: InvalidReason; error: string; position: EventPosition; bytes: Buffer };

/** The bytes of a body as the SDK hands it over (with skipParsingBodyAsJson it is a Buffer; be tolerant). */
export function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body === undefined || body === null) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(body), "utf8");
}

const MAX_ISSUES_SHOWN = 3;

/** Parses and validates one body against the device event schema (shared/events/device-event.ts). */
export function decodeDeviceEvent(
  bytes: Buffer,
  position: EventPosition,
  maxEventBytes: number,
): DecodedEvent {
  const invalid = (reason: InvalidReason, error: string): DecodedEvent => ({
    valid: false,
    reason,
    error,
    position,
    bytes,
  });
  if (bytes.length > maxEventBytes) {
    return invalid("too_large", `body is ${bytes.length} bytes; at most ${maxEventBytes} are accepted`);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return invalid("invalid_json", `body is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return invalid("schema_invalid", "body is JSON but not an object");
  }
  if (typeof (json as { deviceId?: unknown }).deviceId !== "string") {
    return invalid("missing_device_id", "body has no string deviceId (it is also the partition key)");
  }
  const parsed = deviceEvent.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, MAX_ISSUES_SHOWN)
      .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`);
    const more = parsed.error.issues.length - issues.length;
    return invalid("schema_invalid", issues.join("; ") + (more > 0 ? ` (+${more} more)` : ""));
  }
  const event = parsed.data;
  return {
    valid: true,
    event,
    documentId: deviceDocumentId(event, position.partitionId, position.sequenceNumber),
    position,
    bytes,
  };
}
