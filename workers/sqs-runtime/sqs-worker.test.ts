// The SQS worker runtime against a real Redis and the fauxqs SQS emulator.
/* eslint-disable @typescript-eslint/require-await -- fake handlers are async to match the handler contract */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createSqsClient } from "../../shared/aws-clients.ts";
import { orderEvent, type OrderEvent } from "../../shared/events/order-events.ts";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import { createQueuePair, startLocalServers, type LocalServers } from "../../test/support/local-servers.ts";
import { eventAttributes, placedEvent } from "../../test/support/order-event-fixtures.ts";
import { TcpFaultProxy } from "../../test/support/tcp-fault-proxy.ts";
import { unreachableRedis } from "../../test/support/unreachable-redis.ts";
import { waitFor } from "../../test/support/wait.ts";
import { queueDepth } from "./dead-letter-tools.ts";
import { SqsWorker, type EventHandler, type HandlerContext } from "./sqs-worker.ts";
import type { SqsWorkerOptionsInput } from "./sqs-worker-options.ts";

let servers: LocalServers;
let sqs: SQSClient;
let redis: Redis;
const workers: SqsWorker<OrderEvent>[] = [];
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

before(async () => {
  servers = await startLocalServers();
  sqs = servers.sqs();
  redis = new Redis(servers.redisUrl);
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  redis.disconnect();
  await servers.stop();
});

interface Harness {
  worker: SqsWorker<OrderEvent>;
  registry: Registry;
  queueUrl: string;
  dlqUrl: string;
  env: string;
}

async function startWorker(
  handle: EventHandler<OrderEvent>,
  options: Partial<SqsWorkerOptionsInput> = {},
  queue: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
  deps: { redis?: Redis } = {},
): Promise<Harness> {
  const { queueUrl, dlqUrl } = await createQueuePair(sqs, "runtime", queue);
  const registry = new Registry();
  const env = `t-${randomUUID().slice(0, 8)}`;
  const worker = new SqsWorker<OrderEvent>(
    {
      sqs,
      redis: deps.redis ?? redis,
      logger,
      registry,
      env,
      schema: orderEvent,
      accepts: ["order.placed", "order.cancelled"],
      handle,
    },
    {
      worker: "testworker",
      queueUrl,
      deadLetterQueueUrl: dlqUrl,
      concurrency: 1,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds ?? 5,
      retryBaseSeconds: 0,
      drainTimeoutMs: 10_000,
      ...options,
    },
  );
  workers.push(worker);
  worker.start();
  return { worker, registry, queueUrl, dlqUrl, env };
}

async function send(queueUrl: string, body: string, attributes = {}): Promise<void> {
  await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }),
  );
}

async function sendEvent(queueUrl: string, event: ReturnType<typeof placedEvent>): Promise<void> {
  await send(queueUrl, JSON.stringify(event), eventAttributes(event));
}

async function receiveAll(queueUrl: string, visibilityTimeout = 30): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      VisibilityTimeout: visibilityTimeout,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
  return out.Messages ?? [];
}

const depth = (queueUrl: string) => queueDepth(sqs, queueUrl);

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const hit = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
  return hit?.value ?? 0;
}

describe("SqsWorker", () => {
  test("hands a valid CloudEvent to the handler with its context, then deletes it and marks it processed", async () => {
    const seen: Array<{ event: OrderEvent; context: HandlerContext }> = [];
    const { queueUrl, registry, env } = await startWorker(async (event, context) => {
      seen.push({ event, context });
    });
    const event = placedEvent();
    await sendEvent(queueUrl, event);
    await waitFor(() => seen.length === 1, { description: "the handler to run" });
    assert.equal(seen[0]?.event.id, event.id);
    assert.equal(seen[0]?.event.type, "order.placed");
    assert.equal(seen[0]?.context.attempt, 1);
    assert.equal(seen[0]?.context.traceparent, event.traceparent);
    await waitFor(
      async () =>
        (await counter(registry, "eventfleet_messages_processed_total", { outcome: "success" })) === 1,
      {
        description: "success to be counted",
      },
    );
    assert.equal(await redis.exists(`ef:${env}:processed:testworker:${event.id}`), 1);
    const ttl = await redis.ttl(`ef:${env}:processed:testworker:${event.id}`);
    assert.ok(ttl >= 14 * 24 * 3600, `marker TTL ${ttl}s covers the 14-day retention`);
    assert.deepEqual(await depth(queueUrl), { visible: 0, inFlight: 0 });
  });

  test("a poison body goes to the DLQ with reason, error and its original attributes, and leaves the source", async () => {
    let calls = 0;
    const { queueUrl, dlqUrl, registry } = await startWorker(async () => {
      calls++;
    });
    await send(queueUrl, "{not json", { type: { DataType: "String", StringValue: "order.placed" } });
    const invalid = { ...placedEvent(), data: { orderId: "nope" } };
    await send(queueUrl, JSON.stringify(invalid), eventAttributes(invalid));
    const letters = await collect(dlqUrl, 2);
    const byReason = new Map(letters.map((m) => [m.MessageAttributes?.reason?.StringValue, m]));
    assert.equal(byReason.get("invalid_json")?.Body, "{not json");
    assert.equal(byReason.get("invalid_json")?.MessageAttributes?.type?.StringValue, "order.placed");
    assert.match(byReason.get("invalid_json")?.MessageAttributes?.error?.StringValue ?? "", /not JSON/);
    assert.equal(byReason.get("schema_invalid")?.Body, JSON.stringify(invalid));
    assert.match(
      byReason.get("schema_invalid")?.MessageAttributes?.error?.StringValue ?? "",
      /data\.orderId/,
    );
    assert.equal(calls, 0);
    await waitFor(
      async () => (await depth(queueUrl)).inFlight === 0 && (await depth(queueUrl)).visible === 0,
      {
        description: "the source queue to be empty",
      },
    );
    assert.equal(await counter(registry, "eventfleet_dlq_sends_total", { reason: "invalid_json" }), 1);
    assert.equal(
      await counter(registry, "eventfleet_messages_processed_total", { outcome: "dead_letter" }),
      2,
    );
  });

  test("a PermanentError from the handler dead-letters the message with the error's reason", async () => {
    const { queueUrl, dlqUrl } = await startWorker(async () => {
      throw new PermanentError("webhook_rejected", "the webhook answered 400");
    });
    await sendEvent(queueUrl, placedEvent());
    const [letter] = await collect(dlqUrl, 1);
    assert.equal(letter?.MessageAttributes?.reason?.StringValue, "webhook_rejected");
    assert.equal(letter?.MessageAttributes?.error?.StringValue, "the webhook answered 400");
  });

  test("an event of a type the worker does not handle is dead-lettered as unexpected_type", async () => {
    const { queueUrl, dlqUrl } = await startWorker(async () => undefined);
    const event = { ...placedEvent(), type: "order.shipped" };
    await send(queueUrl, JSON.stringify(event));
    const [letter] = await collect(dlqUrl, 1);
    assert.equal(letter?.MessageAttributes?.reason?.StringValue, "unexpected_type");
  });

  test("a failing handler is retried on redelivery and then succeeds; attempt counts up", async () => {
    const attempts: number[] = [];
    const { queueUrl, registry } = await startWorker(async (_event, context) => {
      attempts.push(context.attempt);
      if (attempts.length < 3) throw new RetryableError("dependency down");
    });
    await sendEvent(queueUrl, placedEvent());
    await waitFor(
      async () =>
        (await counter(registry, "eventfleet_messages_processed_total", { outcome: "success" })) === 1,
      {
        description: "the third attempt to succeed",
        timeoutMs: 30_000,
      },
    );
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(await counter(registry, "eventfleet_messages_processed_total", { outcome: "retry" }), 2);
  });

  test("a message failing every attempt is dead-lettered on the last one with reason retries_exhausted and its last error", async () => {
    const { queueUrl, dlqUrl, registry } = await startWorker(
      async (_event, context) => {
        throw new Error(`always broken (attempt ${context.attempt})`);
      },
      {},
      { maxReceiveCount: 2 },
    );
    const event = placedEvent();
    await sendEvent(queueUrl, event);
    const [letter] = await collect(dlqUrl, 1, 30_000);
    assert.equal(letter?.Body, JSON.stringify(event));
    assert.equal(letter?.MessageAttributes?.reason?.StringValue, "retries_exhausted");
    assert.match(
      letter?.MessageAttributes?.error?.StringValue ?? "",
      /all 2 attempts.*always broken \(attempt 2\)/,
    );
    assert.equal(await counter(registry, "eventfleet_dlq_sends_total", { reason: "retries_exhausted" }), 1);
  });

  test("the same event delivered twice runs the handler once and counts a duplicate", async () => {
    let calls = 0;
    const { queueUrl, registry } = await startWorker(async () => {
      calls++;
    });
    const event = placedEvent();
    await sendEvent(queueUrl, event);
    await waitFor(
      async () =>
        (await counter(registry, "eventfleet_messages_processed_total", { outcome: "success" })) === 1,
    );
    await sendEvent(queueUrl, event);
    await waitFor(
      async () =>
        (await counter(registry, "eventfleet_messages_processed_total", { outcome: "duplicate" })) === 1,
      { description: "the duplicate to be acknowledged" },
    );
    assert.equal(calls, 1);
    assert.deepEqual(await depth(queueUrl), { visible: 0, inFlight: 0 });
  });

  test("stop() releases received-but-unstarted messages at once and finishes the running handler", async () => {
    let releaseHandler!: () => void;
    const gate = new Promise<void>((resolve) => (releaseHandler = resolve));
    const started: string[] = [];
    const finished: string[] = [];
    // One handler at a time, visibility 60 s: anything visible again before that was released on purpose.
    const { worker, queueUrl } = await startWorker(
      async (event) => {
        started.push(event.id);
        await gate;
        finished.push(event.id);
      },
      { maxInFlight: 1, visibilityTimeoutSeconds: 60, heartbeatIntervalSeconds: 20 },
      { visibilityTimeoutSeconds: 60 },
    );
    const events = [placedEvent(), placedEvent(), placedEvent()];
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: events.map((e, i) => ({ Id: String(i), MessageBody: JSON.stringify(e) })),
      }),
    );
    await waitFor(async () => started.length === 1 && (await depth(queueUrl)).inFlight === 3, {
      description: "one handler running and three messages received",
    });
    const stopping = worker.stop();
    await waitFor(async () => (await depth(queueUrl)).visible === 2, {
      description: "the two unstarted messages to be visible again",
    });
    releaseHandler();
    await stopping;
    assert.equal(started.length, 1);
    assert.deepEqual(finished, started);
    assert.deepEqual(await depth(queueUrl), { visible: 2, inFlight: 0 });
  });

  test("stop() waits for acknowledgments still in flight after the handlers finished", async () => {
    // Redis 150 ms away each way: every marker write is still in flight when the last handler returns.
    const slowRedis = new TcpFaultProxy(Number(new URL(servers.redisUrl).port), { oneWayDelayMs: 150 });
    await slowRedis.up();
    const distant = new Redis(`redis://127.0.0.1:${slowRedis.port}`);
    after(async () => {
      distant.disconnect();
      await slowRedis.close();
    });
    const events = [placedEvent(), placedEvent(), placedEvent()];
    let handled = 0;
    let stopping: Promise<void> | undefined;
    const harness = await startWorker(
      async () => {
        // The last handler asks for shutdown itself, so stop() surely starts before the acknowledgments end.
        if (++handled === events.length) stopping = harness.worker.stop();
      },
      {},
      {},
      { redis: distant },
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: harness.queueUrl,
        Entries: events.map((e, i) => ({ Id: String(i), MessageBody: JSON.stringify(e) })),
      }),
    );
    await waitFor(() => stopping !== undefined, { description: "the handlers to run", timeoutMs: 20_000 });
    await stopping;
    const keys = events.map((e) => `ef:${harness.env}:processed:testworker:${e.id}`);
    assert.equal(await redis.exists(...keys), events.length, "every marker written before stop() resolved");
    assert.equal(
      await counter(harness.registry, "eventfleet_messages_processed_total", { outcome: "success" }),
      events.length,
    );
    assert.deepEqual(await depth(harness.queueUrl), { visible: 0, inFlight: 0 });
  });

  test("stop() aborts the long poll at once", async () => {
    const { worker } = await startWorker(async () => undefined, { waitTimeSeconds: 20 });
    await waitFor(async () => (await worker.readinessChecks()[0]?.check()) === undefined, {
      description: "polling",
    });
    const t0 = Date.now();
    await worker.stop();
    assert.ok(Date.now() - t0 < 10_000, "stop did not wait for the 20 s long poll");
  });

  test("the heartbeat keeps a long handler's message invisible beyond the visibility timeout", async () => {
    const probe = servers.sqs();
    let emptyProbeSeconds = 0;
    let calls = 0;
    const { queueUrl, registry } = await startWorker(
      async () => {
        calls++;
        // Work for longer than three visibility timeouts while someone else keeps trying to receive it.
        await waitFor(() => emptyProbeSeconds >= 6, {
          timeoutMs: 60_000,
          description: "the probe to wait 6 s",
        });
      },
      { visibilityTimeoutSeconds: 2, heartbeatIntervalSeconds: 1 },
      { visibilityTimeoutSeconds: 2 },
    );
    await sendEvent(queueUrl, placedEvent());
    await waitFor(() => calls === 1, { description: "the handler to start" });
    while (emptyProbeSeconds < 6) {
      const t0 = Date.now();
      const got = await probe.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }),
      );
      assert.equal(got.Messages?.length ?? 0, 0, "the message reappeared while its handler was running");
      emptyProbeSeconds += (Date.now() - t0) / 1000;
    }
    await waitFor(
      async () =>
        (await counter(registry, "eventfleet_messages_processed_total", { outcome: "success" })) === 1,
    );
    assert.equal(calls, 1);
  });

  test("readiness names the failing receive while SQS is unreachable, and the poller backs off", async () => {
    const { queueUrl, dlqUrl } = await createQueuePair(sqs, "unreachable");
    const nowhere = createSqsClient({ AWS_REGION: servers.region, AWS_ENDPOINT_URL: "http://127.0.0.1:1" });
    const worker = new SqsWorker<OrderEvent>(
      {
        sqs: nowhere,
        redis,
        logger,
        registry: new Registry(),
        env: "x",
        schema: orderEvent,
        accepts: [],
        handle: async () => undefined,
      },
      {
        worker: "unreachable",
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        concurrency: 1,
        waitTimeSeconds: 1,
        receiveErrorBackoffMs: 50,
      },
    );
    workers.push(worker);
    worker.start();
    const polling = worker.readinessChecks().find((c) => c.name === "sqs-polling-unreachable");
    const message = await waitFor(
      async () => {
        try {
          await polling?.check();
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      },
      { description: "the polling check to fail", timeoutMs: 30_000 },
    );
    assert.match(message, /ReceiveMessage failed \(connection/);
    await worker.stop();
    nowhere.destroy();
  });

  test("readiness fails when Redis is unreachable", async () => {
    const { worker } = await startWorker(async () => undefined);
    const unreachable = unreachableRedis();
    const broken = new SqsWorker<OrderEvent>(
      {
        sqs,
        redis: unreachable,
        logger,
        registry: new Registry(),
        env: "x",
        schema: orderEvent,
        accepts: [],
        handle: async () => undefined,
      },
      worker.options,
    );
    const redisCheck = broken.readinessChecks().find((c) => c.name === "redis");
    await assert.rejects(async () => redisCheck?.check());
  });
});

async function collect(queueUrl: string, count: number, timeoutMs = 20_000): Promise<Message[]> {
  const got: Message[] = [];
  await waitFor(
    async () => {
      got.push(...(await receiveAll(queueUrl)));
      return got.length >= count;
    },
    { description: `${count} messages in ${queueUrl}`, timeoutMs },
  );
  return got;
}
