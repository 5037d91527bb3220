// The slow path the benchmark measures against: decode each event with rhea and encode it again.
// The emulator never uses it unless asked (`codec: "reencode"`); see message-bytes.ts for the real path.
import rhea from "rhea";
import { PARTITION_KEY_ANNOTATION, skipValue } from "./message-bytes.ts";
import type { EventStamp, StampedEvent } from "./message-bytes.ts";

export function reencodeEvent(message: Buffer, stamp: EventStamp): StampedEvent {
  const decoded = rhea.message.decode(message);
  const types = rhea.types;
  const annotations: Record<string, unknown> = {
    ...(decoded.message_annotations as Record<string, unknown>),
  };
  annotations["x-opt-sequence-number"] = types.wrap_long(stamp.sequenceNumber);
  annotations["x-opt-offset"] = String(stamp.offset);
  annotations["x-opt-enqueued-time"] = types.wrap_timestamp(stamp.enqueuedTimeMs);
  if (stamp.partitionKey !== undefined && annotations[PARTITION_KEY_ANNOTATION] === undefined) {
    annotations[PARTITION_KEY_ANNOTATION] = stamp.partitionKey;
  }
  decoded.message_annotations = annotations;
  delete decoded.delivery_annotations;
  const bytes = rhea.message.encode(decoded);
  // rhea writes the header first when there is one (descriptor 0x70).
  const headerLength = bytes[0] === 0x00 && bytes[1] === 0x53 && bytes[2] === 0x70 ? skipValue(bytes, 0) : 0;
  return { bytes, headerLength };
}
