// Byte-level AMQP 1.0 message surgery: split batches and stamp events without decoding their bodies.
//
// The emulator never decodes an event to JavaScript values and re-encodes it: it walks the section
// boundaries of the encoded message, keeps every section it does not own verbatim and writes only
// the annotations the service adds. That keeps the CPU cost per event at a few copies.

/** Section descriptors (AMQP 1.0 §3.2), as small ulong codes. */
const HEADER = 0x70;
const DELIVERY_ANNOTATIONS = 0x71;
const MESSAGE_ANNOTATIONS = 0x72;
const DATA = 0x75;

const SYMBOLIC_DESCRIPTORS: Record<string, number> = {
  "amqp:header:list": HEADER,
  "amqp:delivery-annotations:map": DELIVERY_ANNOTATIONS,
  "amqp:message-annotations:map": MESSAGE_ANNOTATIONS,
  "amqp:properties:list": 0x73,
  "amqp:application-properties:map": 0x74,
  "amqp:data:binary": DATA,
  "amqp:amqp-sequence:list": 0x76,
  "amqp:amqp-value:*": 0x77,
  "amqp:footer:map": 0x78,
};

export const PARTITION_KEY_ANNOTATION = "x-opt-partition-key";
const SEQUENCE_NUMBER_ANNOTATION = "x-opt-sequence-number";
const OFFSET_ANNOTATION = "x-opt-offset";
const ENQUEUED_TIME_ANNOTATION = "x-opt-enqueued-time";
/** Annotations only the service sets: a sender's own values for them are dropped. */
const SERVICE_ANNOTATIONS = new Set([
  SEQUENCE_NUMBER_ANNOTATION,
  OFFSET_ANNOTATION,
  ENQUEUED_TIME_ANNOTATION,
]);

export class MalformedMessageError extends Error {
  override name = "MalformedMessageError";
}

function need(buffer: Buffer, end: number): void {
  if (end > buffer.length) throw new MalformedMessageError(`truncated AMQP value (needs ${end} bytes)`);
}

/** Returns the position just after the encoded AMQP value that starts at `pos`. */
export function skipValue(buffer: Buffer, pos: number): number {
  need(buffer, pos + 1);
  const code = buffer[pos]!;
  if (code === 0x00) return skipValue(buffer, skipValue(buffer, pos + 1));
  const category = code & 0xf0;
  let end: number;
  switch (category) {
    case 0x40:
      end = pos + 1;
      break;
    case 0x50:
      end = pos + 2;
      break;
    case 0x60:
      end = pos + 3;
      break;
    case 0x70:
      end = pos + 5;
      break;
    case 0x80:
      end = pos + 9;
      break;
    case 0x90:
      end = pos + 17;
      break;
    case 0xa0:
    case 0xc0:
    case 0xe0:
      need(buffer, pos + 2);
      end = pos + 2 + buffer[pos + 1]!;
      break;
    case 0xb0:
    case 0xd0:
    case 0xf0:
      need(buffer, pos + 5);
      end = pos + 5 + buffer.readUInt32BE(pos + 1);
      break;
    default:
      throw new MalformedMessageError(`unknown AMQP type code 0x${code.toString(16)}`);
  }
  need(buffer, end);
  return end;
}

/** Reads a section descriptor at `pos` (just after the 0x00 constructor); returns its code and end. */
function readDescriptor(buffer: Buffer, pos: number): { code: number; end: number } {
  need(buffer, pos + 1);
  const type = buffer[pos]!;
  const end = skipValue(buffer, pos);
  if (type === 0x53) return { code: buffer[pos + 1]!, end };
  if (type === 0x80) return { code: Number(buffer.readBigUInt64BE(pos + 1)), end };
  if (type === 0x44) return { code: 0, end };
  if (type === 0xa3 || type === 0xb3) {
    const start = type === 0xa3 ? pos + 2 : pos + 5;
    return { code: SYMBOLIC_DESCRIPTORS[buffer.toString("latin1", start, end)] ?? -1, end };
  }
  throw new MalformedMessageError(`unsupported section descriptor type 0x${type.toString(16)}`);
}

interface Section {
  code: number;
  start: number;
  /** Where the section's value (after the descriptor) starts. */
  valueStart: number;
  end: number;
}

function* sections(buffer: Buffer): Generator<Section> {
  let pos = 0;
  while (pos < buffer.length) {
    if (buffer[pos] !== 0x00) throw new MalformedMessageError(`expected a described section at byte ${pos}`);
    const { code, end: valueStart } = readDescriptor(buffer, pos + 1);
    const end = skipValue(buffer, valueStart);
    yield { code, start: pos, valueStart, end };
    pos = end;
  }
}

/** Start and end of a binary or string value's bytes. */
function variableBytes(buffer: Buffer, pos: number): { start: number; end: number } | undefined {
  const code = buffer[pos];
  if (code === 0xa0 || code === 0xa1 || code === 0xa3)
    return { start: pos + 2, end: pos + 2 + buffer[pos + 1]! };
  if (code === 0xb0 || code === 0xb1 || code === 0xb3) {
    return { start: pos + 5, end: pos + 5 + buffer.readUInt32BE(pos + 1) };
  }
  return undefined;
}

/** The key/value pairs of an encoded map, as byte ranges of the whole pair and of the key text. */
function mapEntries(
  buffer: Buffer,
  mapPos: number,
): { key: string | undefined; start: number; end: number }[] {
  const code = buffer[mapPos];
  let pos: number;
  let count: number;
  if (code === 0xc1) {
    count = buffer[mapPos + 2]!;
    pos = mapPos + 3;
  } else if (code === 0xd1) {
    count = buffer.readUInt32BE(mapPos + 5);
    pos = mapPos + 9;
  } else if (code === 0x40) {
    return [];
  } else {
    throw new MalformedMessageError(`expected a map, got type 0x${code?.toString(16)}`);
  }
  const entries: { key: string | undefined; start: number; end: number }[] = [];
  for (let i = 0; i + 1 < count; i += 2) {
    const start = pos;
    const keyBytes = variableBytes(buffer, pos);
    const key = keyBytes ? buffer.toString("utf8", keyBytes.start, keyBytes.end) : undefined;
    pos = skipValue(buffer, skipValue(buffer, pos));
    entries.push({ key, start, end: pos });
  }
  return entries;
}

function annotationString(buffer: Buffer, mapPos: number, name: string): string | undefined {
  for (const entry of mapEntries(buffer, mapPos)) {
    if (entry.key !== name) continue;
    const valuePos = skipValue(buffer, entry.start);
    const value = variableBytes(buffer, valuePos);
    if (value && (buffer[valuePos] === 0xa1 || buffer[valuePos] === 0xb1)) {
      return buffer.toString("utf8", value.start, value.end);
    }
  }
  return undefined;
}

export interface SplitBatch {
  /** The batch's `x-opt-partition-key` message annotation, if any. */
  partitionKey: string | undefined;
  /** Each event's complete encoded message (views into the payload, not copies). */
  events: Buffer[];
}

/**
 * Splits a batch transfer (message format 0x80013700): the envelope's message annotations carry the
 * partition key and each data section holds one complete encoded event.
 */
export function splitBatch(payload: Buffer): SplitBatch {
  let partitionKey: string | undefined;
  const events: Buffer[] = [];
  for (const section of sections(payload)) {
    if (section.code === MESSAGE_ANNOTATIONS) {
      partitionKey = annotationString(payload, section.valueStart, PARTITION_KEY_ANNOTATION);
    } else if (section.code === DATA) {
      const bytes = variableBytes(payload, section.valueStart);
      if (!bytes) throw new MalformedMessageError("a batch data section is not binary");
      events.push(payload.subarray(bytes.start, bytes.end));
    }
  }
  return { partitionKey, events };
}

/** The partition key annotation of a single encoded message, if any. */
export function messagePartitionKey(message: Buffer): string | undefined {
  for (const section of sections(message)) {
    if (section.code === MESSAGE_ANNOTATIONS) {
      return annotationString(message, section.valueStart, PARTITION_KEY_ANNOTATION);
    }
  }
  return undefined;
}

function encodedSymbol(name: string): Buffer {
  const text = Buffer.from(name, "latin1");
  return Buffer.concat([Buffer.from([0xa3, text.length]), text]);
}

function encodedString(value: string): Buffer {
  const text = Buffer.from(value, "utf8");
  if (text.length < 256) return Buffer.concat([Buffer.from([0xa1, text.length]), text]);
  const head = Buffer.alloc(5);
  head[0] = 0xb1;
  head.writeUInt32BE(text.length, 1);
  return Buffer.concat([head, text]);
}

const SEQUENCE_NUMBER_KEY = encodedSymbol(SEQUENCE_NUMBER_ANNOTATION);
const OFFSET_KEY = encodedSymbol(OFFSET_ANNOTATION);
const ENQUEUED_TIME_KEY = encodedSymbol(ENQUEUED_TIME_ANNOTATION);
const PARTITION_KEY_KEY = encodedSymbol(PARTITION_KEY_ANNOTATION);
const SECTION_MESSAGE_ANNOTATIONS = Buffer.from([0x00, 0x53, MESSAGE_ANNOTATIONS, 0xd1]);
const SECTION_DELIVERY_ANNOTATIONS = Buffer.from([0x00, 0x53, DELIVERY_ANNOTATIONS, 0xd1]);

export interface EventStamp {
  sequenceNumber: number;
  /** The event's offset (its byte position in the partition log). */
  offset: number;
  enqueuedTimeMs: number;
  /** Added when the batch named a key that the event itself does not carry. */
  partitionKey: string | undefined;
}

export interface StampedEvent {
  /** The message as receivers get it: the sender's sections plus the service's annotations. */
  bytes: Buffer;
  /** Length of the header section at the start of `bytes` (delivery annotations go after it). */
  headerLength: number;
}

/**
 * Adds the service's message annotations to one encoded event. Sections other than the header and
 * annotations are copied byte for byte; a sender's delivery annotations are dropped (they are
 * per-hop).
 */
export function stampEvent(message: Buffer, stamp: EventStamp): StampedEvent {
  let header: Section | undefined;
  let annotations: Section | undefined;
  let restStart = message.length;
  for (const section of sections(message)) {
    if (section.code === HEADER) header = section;
    else if (section.code === DELIVERY_ANNOTATIONS) continue;
    else if (section.code === MESSAGE_ANNOTATIONS) annotations = section;
    else {
      restStart = section.start;
      break;
    }
  }
  const kept = (annotations ? mapEntries(message, annotations.valueStart) : []).filter(
    (entry) => entry.key === undefined || !SERVICE_ANNOTATIONS.has(entry.key),
  );
  const keptPairs = kept.length;
  let keptBytes = 0;
  let hasPartitionKey = false;
  for (const entry of kept) {
    if (entry.key === PARTITION_KEY_ANNOTATION) hasPartitionKey = true;
    keptBytes += entry.end - entry.start;
  }
  const offsetValue = encodedString(String(stamp.offset));
  const partitionKeyValue =
    stamp.partitionKey !== undefined && !hasPartitionKey ? encodedString(stamp.partitionKey) : undefined;
  let addedBytes = SEQUENCE_NUMBER_KEY.length + 9 + OFFSET_KEY.length + offsetValue.length;
  addedBytes += ENQUEUED_TIME_KEY.length + 9;
  if (partitionKeyValue) addedBytes += PARTITION_KEY_KEY.length + partitionKeyValue.length;
  const pairs = keptPairs + (partitionKeyValue ? 4 : 3);
  const headerLength = header ? header.end - header.start : 0;
  const restLength = message.length - restStart;
  const mapBodyLength = 4 + keptBytes + addedBytes;
  const total = headerLength + SECTION_MESSAGE_ANNOTATIONS.length + 4 + mapBodyLength + restLength;

  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  if (header) pos += message.copy(out, pos, header.start, header.end);
  pos += SECTION_MESSAGE_ANNOTATIONS.copy(out, pos);
  pos = out.writeUInt32BE(mapBodyLength, pos);
  pos = out.writeUInt32BE(pairs * 2, pos);
  for (const entry of kept) pos += message.copy(out, pos, entry.start, entry.end);
  pos += SEQUENCE_NUMBER_KEY.copy(out, pos);
  out[pos++] = 0x81;
  pos = out.writeBigInt64BE(BigInt(stamp.sequenceNumber), pos);
  pos += OFFSET_KEY.copy(out, pos);
  pos += offsetValue.copy(out, pos);
  pos += ENQUEUED_TIME_KEY.copy(out, pos);
  out[pos++] = 0x83;
  pos = out.writeBigInt64BE(BigInt(stamp.enqueuedTimeMs), pos);
  if (partitionKeyValue) {
    pos += PARTITION_KEY_KEY.copy(out, pos);
    pos += partitionKeyValue.copy(out, pos);
  }
  message.copy(out, pos, restStart);
  return { bytes: out, headerLength };
}

export interface RuntimeInfo {
  lastSequenceNumber: number;
  lastOffset: number;
  lastEnqueuedTimeMs: number;
  retrievedAtMs: number;
}

const LAST_SEQUENCE_KEY = encodedSymbol("last_enqueued_sequence_number");
const LAST_OFFSET_KEY = encodedSymbol("last_enqueued_offset");
const LAST_TIME_KEY = encodedSymbol("last_enqueued_time_utc");
const RETRIEVAL_TIME_KEY = encodedSymbol("runtime_info_retrieval_time_utc");

/** The delivery-annotations section that carries receiver runtime metrics. */
export function encodeRuntimeInfo(info: RuntimeInfo): Buffer {
  const offsetValue = encodedString(String(info.lastOffset));
  const body = Buffer.concat([
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 8]),
    LAST_SEQUENCE_KEY,
    long(0x81, info.lastSequenceNumber),
    LAST_OFFSET_KEY,
    offsetValue,
    LAST_TIME_KEY,
    long(0x83, info.lastEnqueuedTimeMs),
    RETRIEVAL_TIME_KEY,
    long(0x83, info.retrievedAtMs),
  ]);
  body.writeUInt32BE(body.length - 4, 0);
  return Buffer.concat([SECTION_DELIVERY_ANNOTATIONS, body]);
}

function long(code: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(9);
  out[0] = code;
  out.writeBigInt64BE(BigInt(value), 1);
  return out;
}

/** Inserts a delivery-annotations section into a stamped event (after its header). */
export function withDeliveryAnnotations(event: StampedEvent, deliveryAnnotations: Buffer): Buffer {
  const out = Buffer.allocUnsafe(event.bytes.length + deliveryAnnotations.length);
  event.bytes.copy(out, 0, 0, event.headerLength);
  deliveryAnnotations.copy(out, event.headerLength);
  event.bytes.copy(out, event.headerLength + deliveryAnnotations.length, event.headerLength);
  return out;
}
