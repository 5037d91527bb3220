// Webhook delivery: signed POSTs, which answers retry and which dead-letter, and one history entry per event.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { PermanentError, RetryableError } from "../../shared/errors.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { handlerContext } from "../../test/support/handler-context.ts";
import { placedEvent } from "../../test/support/order-event-fixtures.ts";
import { getStack } from "../../test/support/stack.ts";
import { DeliveryLease } from "./delivery-lease.ts";
import { createNotificationHandler } from "./notification-handler.ts";
import { WebhookClient } from "./webhook-client.ts";
import { SIGNATURE_HEADER, verifySignature } from "./webhook-signature.ts";

const secret = randomBytes(16).toString("hex");
let server: Server;
let url: string;
/** Next answers of the server (status, headers); 200 when empty; "hang" never answers. */
const answers: Array<[number, Record<string, string>] | "hang"> = [];
const received: Array<{ body: string; signatureOk: boolean; key: string | undefined }> = [];

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (c: Buffer) => (body += c.toString()));
    request.on("end", () => {
      received.push({
        body,
        signatureOk: verifySignature(secret, body, request.headers[SIGNATURE_HEADER] as string | undefined),
        key: request.headers["idempotency-key"] as string | undefined,
      });
      const next = answers.shift() ?? [200, {}];
      if (next === "hang") return;
      response.writeHead(next[0], next[1]).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("WebhookClient", () => {
  const client = () => new WebhookClient({ url, secret, timeoutMs: 500 });

  test("POSTs a signed body with the idempotency key", async () => {
    assert.equal(await client().deliver({ hello: "world" }, "evt-1"), 200);
    const last = received.at(-1)!;
    assert.equal(last.signatureOk, true);
    assert.equal(last.key, "evt-1");
    assert.equal(
      verifySignature("another-secret-123", last.body, `t=${Math.floor(Date.now() / 1000)},v1=00`),
      false,
    );
  });

  for (const [status, headers] of [
    [503, { "retry-after": "7" }],
    [500, {}],
    [408, {}],
    [429, {}],
  ] as const) {
    test(`answer ${status} is retryable`, async () => {
      answers.push([status, headers]);
      const error = await client()
        .deliver({}, "e")
        .catch((e: unknown) => e);
      assert.ok(error instanceof RetryableError, String(error));
      if (status === 503) assert.equal(error.retryAfterMs, 7000);
    });
  }

  for (const status of [400, 401, 404, 410, 422]) {
    test(`answer ${status} is permanent (webhook_rejected)`, async () => {
      answers.push([status, {}]);
      const error = await client()
        .deliver({}, "e")
        .catch((e: unknown) => e);
      assert.ok(error instanceof PermanentError, String(error));
      assert.equal(error.reason, "webhook_rejected");
    });
  }

  test("a timeout and a refused connection are retryable", async () => {
    answers.push("hang");
    assert.ok(
      (await client()
        .deliver({}, "e")
        .catch((e: unknown) => e)) instanceof RetryableError,
    );
    const refused = new WebhookClient({ url: "http://127.0.0.1:1/x", secret, timeoutMs: 500 });
    assert.ok((await refused.deliver({}, "e").catch((e: unknown) => e)) instanceof RetryableError);
  });
});

describe("notification handler", () => {
  let redis: Redis;
  let store: OrderStore;
  let lease: DeliveryLease;
  before(async () => {
    redis = new Redis((await getStack()).env.REDIS_URL!);
    const env = `t${randomUUID().slice(0, 8)}`;
    store = new OrderStore(redis, { env });
    lease = new DeliveryLease(redis, { env, ttlMs: 30_000 });
  });
  after(() => redis.disconnect());

  /** A placed order in the store, and a handler POSTing to the test webhook (or only logging, with `webhook: false`). */
  async function placedOrderAndHandler(options: { webhook?: boolean; lease?: DeliveryLease } = {}) {
    const event = placedEvent();
    await store.createOrder({ order: event.data, event });
    const handle = createNotificationHandler({
      store,
      webhook: options.webhook === false ? undefined : new WebhookClient({ url, secret, timeoutMs: 2000 }),
      lease: options.lease ?? lease,
    });
    const notified = async () =>
      (await store.getOrder(event.data.orderId))?.history.filter((h) => h.stage === "NOTIFIED") ?? [];
    return { event, handle, notified };
  }

  test("delivers once per event and records NOTIFIED in the order's history", async () => {
    const { event, handle, notified: notifiedEntries } = await placedOrderAndHandler();
    const before = received.length;
    const stages: string[] = [];
    await handle(event, handlerContext(stages));
    await handle(event, handlerContext(stages));
    assert.equal(received.length, before + 1);
    const payload = JSON.parse(received.at(-1)!.body) as { subject: string; to: { email?: string } };
    assert.match(payload.subject, /received/);
    assert.equal(payload.to.email, "ada@example.com");
    const notified = await notifiedEntries();
    assert.equal(notified.length, 1);
    assert.equal(notified[0]?.eventId, event.id);
    assert.deepEqual(stages, ["NOTIFIED"]);
  });

  test("without a webhook URL the notification is logged and still recorded", async () => {
    const { event, handle, notified } = await placedOrderAndHandler({ webhook: false });
    await handle(event, handlerContext());
    assert.equal((await notified())[0]?.detail?.channel, "log");
  });

  test("two copies of one event at once: one webhook call and one NOTIFIED; the second waits, then finds it done", async () => {
    const { event, handle, notified } = await placedOrderAndHandler();
    const before = received.length;
    const stages: string[] = [];
    await Promise.all([handle(event, handlerContext(stages)), handle(event, handlerContext(stages))]);
    assert.equal(received.length, before + 1);
    assert.equal((await notified()).length, 1);
    assert.deepEqual(stages, ["NOTIFIED"]);
  });

  test("a copy whose lease stays taken (a crashed holder) delivers once the lease runs out", async () => {
    const shortLease = new DeliveryLease(redis, { env: `t${randomUUID().slice(0, 8)}`, ttlMs: 400 });
    const { event, handle, notified } = await placedOrderAndHandler({ lease: shortLease });
    // The crashed holder: took the lease and never released it.
    assert.ok(await shortLease.acquire(event.id));
    const before = received.length;
    await handle(event, handlerContext());
    assert.equal(received.length, before + 1);
    assert.equal((await notified()).length, 1);
  });

  test("a failed delivery releases its lease, so the retry delivers at once", async () => {
    const { event, handle, notified } = await placedOrderAndHandler();
    answers.push([503, {}]);
    await assert.rejects(handle(event, handlerContext()), RetryableError);
    assert.equal(await redis.exists(lease.key(event.id)), 0);
    await handle(event, handlerContext());
    assert.equal((await notified()).length, 1);
  });
});
