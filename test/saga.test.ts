// The order saga end to end: `eventfleet relay` → SNS → SQS → three worker processes → webhook (Redis, fauxqs).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../shared/aws-clients.ts";
import type { OrderPlacedData } from "../shared/events/order-events.ts";
import { cancelledEvent, placedData, placedEvent } from "./support/order-event-fixtures.ts";
import {
  SagaDriver,
  TestWebhook,
  metricValue,
  startRelay,
  startWorker,
  stopWorker,
  type ApiProcess,
  type WorkerName,
  type WorkerProcess,
} from "./support/saga-stack.ts";
import { ROOT, createTestEnv } from "./support/stack.ts";
import { waitFor } from "./support/wait.ts";

const SAGA_TIMEOUT = { timeoutMs: 60_000, intervalMs: 100 };

describe("order saga across worker processes", () => {
  let env: Record<string, string>;
  let workerEnv: Record<string, string>;
  let driver: SagaDriver;
  let sqs: SQSClient;
  let relay: ApiProcess;
  const webhook = new TestWebhook();
  const workers = new Map<WorkerName, WorkerProcess>();

  const start = async (name: WorkerName, extra: Record<string, string> = {}) => {
    workers.set(name, await startWorker(name, workerEnv, extra));
    return workers.get(name)!;
  };

  before(async () => {
    env = await createTestEnv({ aws: true, visibilityTimeoutSeconds: 3, maxReceiveCount: 4 });
    await webhook.start();
    driver = new SagaDriver(env);
    relay = await startRelay(env);
    sqs = createSqsClient({ AWS_REGION: env.AWS_REGION!, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
    workerEnv = {
      ...env,
      NOTIFY_WEBHOOK_URL: webhook.url,
      NOTIFY_WEBHOOK_SECRET: webhook.secret,
      WORKER_RETRY_BASE_SECONDS: "1",
      WORKER_RETRY_MAX_SECONDS: "2",
      SHUTDOWN_TIMEOUT_MS: "10000",
    };
    await Promise.all((["inventory", "shipment", "notification"] as const).map((name) => start(name)));
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => stopWorker(w)));
    if (relay?.child.exitCode === null) {
      relay.child.kill("SIGTERM");
      await relay.exited;
    }
    await driver?.stop();
    sqs?.destroy();
    await webhook.stop();
  });

  /** Seeds stock and writes the order with its order.placed event, as the API does. */
  async function placeOrder(
    lines: Array<{ sku: string; quantity: number; stock: number }>,
  ): Promise<{ order: OrderPlacedData; event: ReturnType<typeof placedEvent> }> {
    for (const line of lines) await driver.store.setAvailable(line.sku, line.stock);
    const event = placedEvent({
      items: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: 100 })),
      totalCents: lines.reduce((n, l) => n + l.quantity * 100, 0),
    });
    await driver.store.createOrder({ order: event.data, event });
    return { order: event.data, event };
  }

  /** Cancels as the API does: the status and the order.cancelled event in one step. */
  async function cancelOrder(orderId: string) {
    const event = cancelledEvent(orderId);
    const result = await driver.store.transition(orderId, {
      allowedFrom: ["ACKNOWLEDGED", "INVENTORY_RESERVED"],
      to: "CANCELLED",
      history: { eventId: event.id },
      events: [event],
    });
    assert.equal(result.applied, true, "the order could be cancelled");
    return event;
  }

  const sku = () => `SKU-${randomUUID().slice(0, 8)}`;
  const status = (orderId: string, wanted: string) =>
    waitFor(async () => (await driver.status(orderId)) === wanted, {
      ...SAGA_TIMEOUT,
      description: `order ${orderId} to be ${wanted}`,
    });
  const notifiedEntries = async (orderId: string, eventId?: string) =>
    ((await driver.store.getOrder(orderId))?.history ?? []).filter(
      (h) => h.stage === "NOTIFIED" && (!eventId || h.eventId === eventId),
    );
  const queueEmpty = async (url: string) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Attributes?.ApproximateNumberOfMessages === "0" &&
      Attributes?.ApproximateNumberOfMessagesNotVisible === "0"
    );
  };

  test("a placed order reaches SHIPPED and the customer gets signed placed and shipped notifications", async () => {
    const a = sku();
    const { order, event } = await placeOrder([{ sku: a, quantity: 2, stock: 5 }]);
    await status(order.orderId, "SHIPPED");
    await waitFor(() => webhook.delivered(order.orderId).length === 2, {
      ...SAGA_TIMEOUT,
      description: "two notifications",
    });
    const deliveries = webhook.delivered(order.orderId);
    assert.deepEqual(deliveries.map((d) => d.type).sort(), ["order.placed", "order.shipped"]);
    for (const d of deliveries) {
      assert.equal(d.signatureValid, true, "the signature verifies with the shared secret");
      assert.equal(d.idempotencyKey, d.eventId, "the event id is the idempotency key");
    }
    assert.equal(deliveries.find((d) => d.type === "order.placed")?.eventId, event.id);
    assert.deepEqual(await driver.store.getStock(a), { sku: a, available: 3, reserved: 0 });
    const record = await driver.store.getOrder(order.orderId);
    const stages = record?.history.map((h) => h.stage);
    for (const stage of ["ACKNOWLEDGED", "INVENTORY_RESERVED", "SHIPPED"])
      assert.ok(stages?.includes(stage), stage);
    await waitFor(async () => (await notifiedEntries(order.orderId)).length === 2, SAGA_TIMEOUT);
    const shipped = record?.history.find((h) => h.stage === "SHIPPED");
    assert.ok(shipped?.detail?.trackingNumber, "the shipment has a tracking number");
    assert.ok(shipped?.detail?.carrier, "the shipment has a carrier");
  });

  test("an order with a line out of stock is REJECTED, no stock moves, and the customer is told", async () => {
    const short = sku();
    const plenty = sku();
    const { order } = await placeOrder([
      { sku: short, quantity: 2, stock: 1 },
      { sku: plenty, quantity: 1, stock: 5 },
    ]);
    await status(order.orderId, "REJECTED");
    await waitFor(() => webhook.delivered(order.orderId, "inventory.rejected").length === 1, SAGA_TIMEOUT);
    assert.deepEqual(await driver.store.getStock(short), { sku: short, available: 1, reserved: 0 });
    assert.deepEqual(await driver.store.getStock(plenty), { sku: plenty, available: 5, reserved: 0 });
    const rejected = (await driver.store.getOrder(order.orderId))?.history.find(
      (h) => h.stage === "REJECTED",
    );
    assert.deepEqual(rejected?.detail?.missing, [{ sku: short, requested: 2, available: 1 }]);
  });

  test("a cancel before shipping ends CANCELLED with the stock restored exactly and no shipment", async () => {
    // Without a shipment worker the order waits in INVENTORY_RESERVED; SIGTERM also proves a clean exit.
    const shipment = workers.get("shipment")!;
    shipment.child.kill("SIGTERM");
    assert.deepEqual(await shipment.exited, { code: 0, signal: null });
    const a = sku();
    const b = sku();
    const { order } = await placeOrder([
      { sku: a, quantity: 3, stock: 7 },
      { sku: b, quantity: 1, stock: 1 },
      { sku: a, quantity: 1, stock: 7 },
    ]);
    await status(order.orderId, "INVENTORY_RESERVED");
    assert.deepEqual(await driver.store.getStock(a), { sku: a, available: 3, reserved: 4 });
    await cancelOrder(order.orderId);
    await waitFor(
      async () =>
        (await driver.store.getStock(a)).available === 7 && (await driver.store.getStock(b)).available === 1,
      { ...SAGA_TIMEOUT, description: "stock to be released" },
    );
    const restarted = await start("shipment");
    await waitFor(() => queueEmpty(env.SHIPMENT_QUEUE_URL!), {
      ...SAGA_TIMEOUT,
      description: "shipment queue drained",
    });
    await waitFor(
      async () =>
        (await metricValue(restarted, "eventfleet_messages_processed_total", { outcome: "success" })) >= 2,
      SAGA_TIMEOUT,
    );
    assert.equal(await driver.status(order.orderId), "CANCELLED");
    assert.equal(await driver.redis.hget(driver.store.keys.shipment(order.orderId), "status"), "cancelled");
    assert.deepEqual(await driver.store.getStock(a), { sku: a, available: 7, reserved: 0 });
    assert.deepEqual(await driver.store.getStock(b), { sku: b, available: 1, reserved: 0 });
    await waitFor(() => webhook.delivered(order.orderId, "order.cancelled").length === 1, SAGA_TIMEOUT);
  });

  test("the same event delivered twice reserves, ships and notifies once", async () => {
    const a = sku();
    const { order, event } = await placeOrder([{ sku: a, quantity: 1, stock: 2 }]);
    await status(order.orderId, "SHIPPED");
    await waitFor(() => webhook.delivered(order.orderId).length === 2, SAGA_TIMEOUT);
    const inventory = workers.get("inventory")!;
    const notification = workers.get("notification")!;
    const before = {
      inventory: await metricValue(inventory, "eventfleet_messages_processed_total", {
        outcome: "duplicate",
      }),
      notification: await metricValue(notification, "eventfleet_messages_processed_total", {
        outcome: "duplicate",
      }),
    };
    await driver.publish(event);
    await waitFor(
      async () =>
        (await metricValue(inventory, "eventfleet_messages_processed_total", { outcome: "duplicate" })) >=
          before.inventory + 1 &&
        (await metricValue(notification, "eventfleet_messages_processed_total", { outcome: "duplicate" })) >=
          before.notification + 1,
      { ...SAGA_TIMEOUT, description: "both workers to count the duplicate" },
    );
    assert.deepEqual(await driver.store.getStock(a), { sku: a, available: 1, reserved: 0 });
    assert.equal(webhook.delivered(order.orderId, "order.placed").length, 1);
    assert.equal((await notifiedEntries(order.orderId, event.id)).length, 1);
    const shipments = (await driver.store.getOrder(order.orderId))?.history.filter(
      (h) => h.stage === "SHIPPED",
    );
    assert.equal(shipments?.length, 1);
  });

  test("a poison message goes to the DLQ with its reason; a rejected webhook call is redriven after the fix", async () => {
    // Not JSON at all: dead-lettered by every subscribed worker, with reason invalid_json.
    await driver.publish({ type: "order.placed" }, "{oops");
    const dlqPeek = async (worker: string) => {
      const out = await runCli(["dlq", "peek", worker, "-n", "10", "--json"], env);
      return JSON.parse(out) as Array<{ reason?: string; body: string; attributes: Record<string, string> }>;
    };
    const poison = await waitFor(async () => (await dlqPeek("inventory")).find((l) => l.body === "{oops"), {
      ...SAGA_TIMEOUT,
      description: "the poison message in the inventory DLQ",
    });
    assert.equal(poison.reason, "invalid_json");
    assert.equal(poison.attributes.type, "order.placed");

    // The webhook refuses this order's notifications (400): permanent, so straight to the DLQ.
    const a = sku();
    const pending = placedData({ items: [{ sku: a, quantity: 1, unitPriceCents: 100 }], totalCents: 100 });
    webhook.modes.set(pending.orderId, "reject");
    await driver.store.setAvailable(a, 1);
    const event = placedEvent(pending);
    await driver.store.createOrder({ order: event.data, event: { ...event, data: pending } });
    const rejected = await waitFor(
      async () => (await dlqPeek("notification")).find((l) => l.body.includes(pending.orderId)),
      { ...SAGA_TIMEOUT, description: "the rejected notification in the DLQ" },
    );
    assert.equal(rejected.reason, "webhook_rejected");
    assert.equal(webhook.delivered(pending.orderId).length, 0);

    // Fixed: the webhook accepts again; redrive moves the dead letters back and the notification arrives.
    webhook.modes.set(pending.orderId, "ok");
    const dry = await runCli(["dlq", "redrive", "notification", "--dry-run"], env);
    assert.match(dry, /dry run: \d+ of \d+ dead letters would move/);
    const moved = await runCli(["dlq", "redrive", "notification"], env);
    assert.match(moved, /moved \d+ of \d+ dead letters/);
    await waitFor(() => webhook.delivered(pending.orderId).length >= 1, {
      ...SAGA_TIMEOUT,
      description: "the redriven notification to be delivered",
    });
    const stats = await runCli(["dlq", "stats", "--json"], env);
    assert.ok((JSON.parse(stats) as Array<{ worker: string }>).some((r) => r.worker === "notification"));
  });

  test("webhook down then up: the notification is retried with backoff and delivered", async () => {
    const pending = placedData({
      items: [{ sku: sku(), quantity: 1, unitPriceCents: 100 }],
      totalCents: 100,
    });
    webhook.modes.set(pending.orderId, "down");
    const event = placedEvent(pending);
    await driver.store.createOrder({ order: event.data, event: { ...event, data: pending } });
    await waitFor(() => webhook.deliveries.filter((d) => d.orderId === pending.orderId).length >= 2, {
      ...SAGA_TIMEOUT,
      description: "two failed attempts",
    });
    webhook.modes.set(pending.orderId, "ok");
    await waitFor(() => webhook.delivered(pending.orderId, "order.placed").length === 1, SAGA_TIMEOUT);
    assert.ok(
      (await metricValue(workers.get("notification")!, "eventfleet_messages_processed_total", {
        outcome: "retry",
      })) >= 2,
    );
    await waitFor(async () => (await notifiedEntries(pending.orderId, event.id)).length === 1, SAGA_TIMEOUT);
  });

  test("a worker SIGKILLed mid-handler: the message is redelivered and the effect happens once", async () => {
    const pending = placedData({
      items: [{ sku: sku(), quantity: 1, unitPriceCents: 100 }],
      totalCents: 100,
    });
    webhook.modes.set(pending.orderId, "hang");
    const event = placedEvent(pending);
    await driver.store.createOrder({ order: event.data, event: { ...event, data: pending } });
    await waitFor(() => webhook.hanging >= 1, {
      ...SAGA_TIMEOUT,
      description: "the webhook call to be in flight",
    });
    const victim = workers.get("notification")!;
    victim.child.kill("SIGKILL");
    assert.equal((await victim.exited).signal, "SIGKILL");
    webhook.dropHanging();
    webhook.modes.set(pending.orderId, "ok");
    await start("notification");
    await waitFor(() => webhook.delivered(pending.orderId, "order.placed").length >= 1, {
      ...SAGA_TIMEOUT,
      description: "the redelivered notification",
    });
    await waitFor(async () => (await notifiedEntries(pending.orderId, event.id)).length === 1, SAGA_TIMEOUT);
    assert.equal(webhook.delivered(pending.orderId, "order.placed").length, 1);
    for (const d of webhook.deliveries.filter((d) => d.orderId === pending.orderId)) {
      assert.equal(d.idempotencyKey, d.eventId, "every attempt carries its event id as idempotency key");
    }
  });

  test("a worker SIGTERMed mid-batch exits 0 within its budget; nothing is lost or done twice", async () => {
    await stopWorker(workers.get("notification")!);
    const draining = await start("notification", { WORKER_CONCURRENCY: "1", WORKER_MAX_IN_FLIGHT: "2" });
    webhook.mode = "hang";
    const orders = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const order = placedData({
          items: [{ sku: sku(), quantity: 1, unitPriceCents: 100 }],
          totalCents: 100,
        });
        const event = placedEvent(order);
        await driver.store.createOrder({ order: event.data, event: { ...event, data: order } });
        return { order, event };
      }),
    );
    await waitFor(() => webhook.hanging >= 2, { ...SAGA_TIMEOUT, description: "two handlers in flight" });
    draining.child.kill("SIGTERM");
    webhook.mode = "ok";
    webhook.releaseHanging();
    assert.deepEqual(await draining.exited, { code: 0, signal: null }, draining.output().slice(-2000));
    await start("notification");
    for (const { order, event } of orders) {
      await waitFor(async () => (await notifiedEntries(order.orderId, event.id)).length >= 1, {
        ...SAGA_TIMEOUT,
        description: `notification for order ${order.orderId}`,
      });
    }
    await waitFor(() => queueEmpty(env.NOTIFICATION_QUEUE_URL!), SAGA_TIMEOUT);
    for (const { order, event } of orders) {
      assert.equal((await notifiedEntries(order.orderId, event.id)).length, 1, "notified exactly once");
    }
  });
});

/** Runs `eventfleet <args>` with `env`; resolves with stdout, rejects on a non-zero exit. */
function runCli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "bin/eventfleet.js"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`eventfleet ${args.join(" ")}: ${code} ${err}`)),
    );
  });
}
