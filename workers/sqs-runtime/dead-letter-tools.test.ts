// The dlq tools against the SQS emulator: peek leaves messages in place; redrive keeps bodies and attributes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createQueuePair, startLocalServers, type LocalServers } from "../../test/support/local-servers.ts";
import { dlqStats, peekDeadLetters, queueDepth, redriveDeadLetters } from "./dead-letter-tools.ts";

let servers: LocalServers;
let sqs: SQSClient;

before(async () => {
  servers = await startLocalServers();
  sqs = servers.sqs();
});
after(() => servers.stop());

async function deadLetters(count: number) {
  const queues = await createQueuePair(sqs, "dlqtools");
  for (let i = 0; i < count; i++) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.dlqUrl,
        MessageBody: `{"n":${i}}`,
        MessageAttributes: {
          type: { DataType: "String", StringValue: "order.placed" },
          reason: { DataType: "String", StringValue: "webhook_rejected" },
          error: { DataType: "String", StringValue: "webhook answered 400" },
        },
      }),
    );
  }
  return queues;
}

test("peek shows body, reason, error and attributes and leaves the dead letters where they are", async () => {
  const queues = await deadLetters(3);
  const letters = await peekDeadLetters(sqs, queues.dlqUrl, 2);
  assert.equal(letters.length, 2);
  assert.equal(letters[0]?.reason, "webhook_rejected");
  assert.equal(letters[0]?.error, "webhook answered 400");
  assert.equal(letters[0]?.attributes.type, "order.placed");
  assert.ok((letters[0]?.receiveCount ?? 0) >= 1);
  assert.deepEqual(await queueDepth(sqs, queues.dlqUrl), { visible: 3, inFlight: 0 });
  const [row] = await dlqStats(sqs, [{ worker: "inventory", ...queues }]);
  assert.equal(row?.dead.visible, 3);
});

test("a dry run moves nothing; --max moves only that many; bodies and attributes arrive unchanged", async () => {
  const queues = await deadLetters(5);
  const dry = await redriveDeadLetters(sqs, queues, { dryRun: true });
  assert.equal(dry.wouldMove, 5);
  assert.deepEqual(await queueDepth(sqs, queues.dlqUrl), { visible: 5, inFlight: 0 });

  const progress: number[] = [];
  const some = await redriveDeadLetters(sqs, queues, { max: 2, onProgress: (done) => progress.push(done) });
  assert.equal(some.moved, 2);
  assert.deepEqual(await queueDepth(sqs, queues.dlqUrl), { visible: 3, inFlight: 0 });
  assert.equal(progress.at(-1), 2);

  const rest = await redriveDeadLetters(sqs, queues);
  assert.equal(rest.moved, 3);
  const moved = [];
  for (let i = 0; i < 5 && moved.length < 5; i++) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
      }),
    );
    moved.push(...(got.Messages ?? []));
  }
  assert.deepEqual(
    moved.map((m) => m.Body).sort(),
    [0, 1, 2, 3, 4].map((n) => `{"n":${n}}`),
  );
  for (const m of moved) {
    assert.equal(m.MessageAttributes?.type?.StringValue, "order.placed");
    assert.equal(m.MessageAttributes?.reason?.StringValue, "webhook_rejected");
  }
  assert.deepEqual(await queueDepth(sqs, queues.dlqUrl), { visible: 0, inFlight: 0 });
});

test("an interrupted redrive stops between batches without losing anything", async () => {
  const queues = await deadLetters(12);
  const stop = new AbortController();
  const result = await redriveDeadLetters(sqs, queues, {
    signal: stop.signal,
    onProgress: () => stop.abort(),
  });
  assert.equal(result.interrupted, true);
  const dlq = await queueDepth(sqs, queues.dlqUrl);
  const source = await queueDepth(sqs, queues.queueUrl);
  assert.equal(dlq.visible + dlq.inFlight + source.visible + source.inFlight, 12);
  assert.equal(source.visible, result.moved);
});
