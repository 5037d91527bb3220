import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ContainerClient } from "@azure/storage-blob";
import type { QueueClient } from "@azure/storage-queue";
import { pino } from "pino";
import { Registry } from "prom-client";
import { parseDeadLetterMessage } from "./dead-letter-message.ts";
import { DeadLetterSink, queueSafeJson, xmlEncodedBytes } from "./dead-letter-sink.ts";
import { createIngestMetrics } from "./ingest-metrics.ts";

function fakes(refuseFirst?: number) {
  const messages: string[] = [];
  const blobs = new Map<string, Buffer>();
  let calls = 0;
  const queue = {
    sendMessage: (text: string) => {
      calls += 1;
      if (refuseFirst !== undefined && calls === 1) {
        return Promise.reject(Object.assign(new Error("refused"), { statusCode: refuseFirst }));
      }
      messages.push(text);
      return Promise.resolve({});
    },
  } as unknown as QueueClient;
  const container = {
    containerName: "t-deadletter",
    getBlockBlobClient: (name: string) => ({
      uploadData: (data: Buffer) => {
        blobs.set(name, data);
        return Promise.resolve({});
      },
    }),
  } as unknown as ContainerClient;
  const sink = new DeadLetterSink({
    queue,
    blobs: container,
    eventHub: "telemetry",
    consumerGroup: "device-ingest",
    backoff: { baseMs: 1, maxMs: 2 },
    metrics: createIngestMetrics(new Registry()),
    logger: pino({ level: "silent" }),
  });
  return { sink, messages, blobs };
}

const letter = (bytes: Buffer) => ({
  reason: "invalid_json",
  error: "body is not JSON",
  position: { partitionId: "3", sequenceNumber: 7, offset: "700", enqueuedTime: new Date(0) },
  bytes,
});
const signal = new AbortController().signal;

describe("DeadLetterSink", () => {
  test("a small body travels inline with reason, error and its place in the hub", async () => {
    const { sink, messages, blobs } = fakes();
    await sink.send([letter(Buffer.from("{oops"))], signal);
    const message = parseDeadLetterMessage(messages[0]!);
    assert.equal(message.reason, "invalid_json");
    assert.equal(message.partitionId, "3");
    assert.equal(message.sequenceNumber, 7);
    assert.deepEqual(message.body, { location: "inline", encoding: "utf8", data: "{oops" });
    assert.equal(blobs.size, 0);
  });

  test("a body whose XML-escaped message would pass 48 KiB goes to a blob, with a pointer", async () => {
    const { sink, messages, blobs } = fakes();
    const ampersands = Buffer.from("&".repeat(20 * 1024)); // 20 KiB raw, 100 KiB escaped
    await sink.send([letter(ampersands)], signal);
    const message = parseDeadLetterMessage(messages[0]!);
    assert.equal(message.body.location, "blob");
    assert.deepEqual(blobs.get("telemetry/device-ingest/3/7.bin"), ampersands);
  });

  test("a message the queue refuses (400) is sent again with its body in a blob", async () => {
    const { sink, messages, blobs } = fakes(400);
    await sink.send([letter(Buffer.from("x"))], signal);
    assert.equal(parseDeadLetterMessage(messages[0]!).body.location, "blob");
    assert.equal(blobs.size, 1);
  });

  test("XML-invalid characters are escaped but round-trip; escaping counts toward the size limit", () => {
    const json = queueSafeJson({ s: "a\uFFFEb" });
    assert.equal(json.includes("\uFFFE"), false);
    assert.deepEqual(JSON.parse(json), { s: "a\uFFFEb" });
    assert.equal(xmlEncodedBytes(`<&"`), 1 + 3 + 1 + 4 + 1 + 5);
  });
});
