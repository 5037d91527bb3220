// Byte surgery on AMQP messages, checked by decoding the results with rhea.
import { test } from "node:test";
import assert from "node:assert/strict";
import rhea from "rhea";
import type { Message } from "rhea";
import {
  encodeRuntimeInfo,
  MalformedMessageError,
  messagePartitionKey,
  splitBatch,
  stampEvent,
  withDeliveryAnnotations,
} from "./message-bytes.ts";

const encode = (message: Message) => rhea.message.encode(message);
/** rhea's decoder, with the annotation maps typed (its typings say `any`). */
const decode = (bytes: Buffer) =>
  rhea.message.decode(bytes) as unknown as Message & {
    message_annotations?: Record<string, unknown>;
    delivery_annotations?: Record<string, unknown>;
  };
const dataSection = (bytes: Buffer): unknown => rhea.message.data_section(bytes);

function batchOf(events: Message[], annotations?: Record<string, unknown>): Buffer {
  const envelope: Message = {
    body: rhea.message.data_sections(events.map(encode)) as unknown,
    ...(annotations ? { message_annotations: annotations } : {}),
  };
  return encode(envelope);
}

void test("splitBatch returns each event's bytes and the envelope's partition key", () => {
  const events: Message[] = [
    {
      body: dataSection(Buffer.from("one")),
      message_annotations: { "x-opt-partition-key": "k" },
    },
    { body: dataSection(Buffer.from("two")), application_properties: { n: 2 } },
  ];
  const { partitionKey, events: split } = splitBatch(batchOf(events, { "x-opt-partition-key": "k" }));
  assert.equal(partitionKey, "k");
  assert.equal(split.length, 2);
  assert.deepEqual(split[0], encode(events[0]!));
  assert.deepEqual(decode(split[1]!).application_properties, { n: 2 });
  assert.equal(splitBatch(batchOf([events[1]!])).partitionKey, undefined);
});

void test("stampEvent adds the service's annotations and keeps every other section byte for byte", () => {
  const original: Message = {
    durable: true,
    delivery_annotations: { hop: "dropped" },
    message_annotations: { "x-opt-partition-key": "device-1", custom: "kept", "x-opt-offset": "forged" },
    message_id: "m-1",
    application_properties: { a: 1 },
    body: dataSection(Buffer.from('{"x":1}')),
  };
  const stamped = stampEvent(encode(original), {
    sequenceNumber: 7,
    offset: 1234,
    enqueuedTimeMs: 1_700_000_000_123,
    partitionKey: "device-1",
  });
  const decoded = decode(stamped.bytes);
  assert.equal(decoded.durable, true);
  assert.equal(decoded.delivery_annotations, undefined);
  assert.deepEqual(decoded.message_annotations, {
    "x-opt-partition-key": "device-1",
    custom: "kept",
    "x-opt-sequence-number": 7,
    "x-opt-offset": "1234",
    "x-opt-enqueued-time": new Date(1_700_000_000_123),
  });
  assert.equal(decoded.message_id, "m-1");
  assert.deepEqual(decoded.application_properties, { a: 1 });
  assert.ok(stamped.bytes.subarray(stamped.bytes.length - 7).equals(Buffer.from('{"x":1}')));
  assert.ok(stamped.headerLength > 0);
});

void test("stampEvent adds the batch's partition key to an event that lacks it", () => {
  const stamped = stampEvent(encode({ body: "plain" }), {
    sequenceNumber: 0,
    offset: 0,
    enqueuedTimeMs: 1,
    partitionKey: "from-batch",
  });
  const decoded = decode(stamped.bytes);
  assert.equal(decoded.message_annotations?.["x-opt-partition-key"], "from-batch");
  assert.equal(decoded.body, "plain");
  assert.equal(messagePartitionKey(stamped.bytes), "from-batch");
});

void test("runtime info goes into delivery annotations after the header", () => {
  const stamped = stampEvent(encode({ durable: true, body: "x" }), {
    sequenceNumber: 1,
    offset: 10,
    enqueuedTimeMs: 5,
    partitionKey: undefined,
  });
  const annotated = withDeliveryAnnotations(
    stamped,
    encodeRuntimeInfo({ lastSequenceNumber: 9, lastOffset: 900, lastEnqueuedTimeMs: 6, retrievedAtMs: 7 }),
  );
  const decoded = decode(annotated);
  assert.equal(decoded.durable, true);
  assert.deepEqual(decoded.delivery_annotations, {
    last_enqueued_sequence_number: 9,
    last_enqueued_offset: "900",
    last_enqueued_time_utc: new Date(6),
    runtime_info_retrieval_time_utc: new Date(7),
  });
  assert.equal(decoded.message_annotations?.["x-opt-sequence-number"], 1);
});

void test("truncated or foreign bytes are a MalformedMessageError, not a crash", () => {
  const bytes = batchOf([{ body: "x" }]);
  assert.throws(() => splitBatch(bytes.subarray(0, bytes.length - 2)), MalformedMessageError);
  assert.throws(() => splitBatch(Buffer.from([0x41, 0x42])), MalformedMessageError);
});
