// The API and relay as processes against the shared emulator stack: orders reach the right SQS queues.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:net";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { newCloudEvent, newTraceparent } from "../shared/events/cloudevent.ts";
import { orderPlacedEvent, orderSubject } from "../shared/events/order-events.ts";
import { OrderStore } from "../shared/orders/order-store.ts";
import { freePort } from "../test/support/ports.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait.ts";
import { validOrder } from "../test/support/sample-order.ts";
import { startLocalRedis } from "../test/support/local-redis.ts";
import { QueueReader, type ReceivedEvent } from "../test/support/queue-reader.ts";
import { startRole, type RoleProcess } from "../test/support/role-process.ts";
import { outboxPending } from "../test/support/outbox-streams.ts";

const eventsFor = (reader: QueueReader, orderId: string) =>
  reader.received.filter((r) => (r.body.data as { orderId?: string } | undefined)?.orderId === orderId);

async function arrive(reader: QueueReader, orderId: string, types: string[]): Promise<ReceivedEvent[]> {
  return waitFor(
    async () => {
      await reader.poll();
      const got = eventsFor(reader, orderId);
      return types.every((t) => got.some((r) => r.body.type === t)) && got;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: `${types.join(", ")} of ${orderId}` },
  );
}

void describe("eventfleet api (with its relay) against the emulators", () => {
  let env: Record<string, string>;
  let api: RoleProcess;
  let apiUrl: string;
  const readers: Record<string, QueueReader> = {};

  before(async () => {
    env = await createTestEnv({ aws: true });
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    api = await startRole(["api"], { ...env, API_PORT: String(port), RELAY_CLAIM_IDLE_MS: "1000" });
    await api.waitReady();
    for (const worker of ["inventory", "shipment", "notification"]) {
      readers[worker] = new QueueReader(env, env[`${worker.toUpperCase()}_QUEUE_URL`]!);
    }
  });
  after(async () => {
    for (const reader of Object.values(readers)) reader.close();
    const code = await api.stop();
    assert.equal(code, 0, `api exits 0 on SIGTERM: ${api.output().slice(-2000)}`);
  });

  void test("a placed order arrives as a CloudEvent on the inventory and notification queues, not shipment", async () => {
    const traceparent = newTraceparent();
    const response = await fetch(`${apiUrl}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent },
      body: JSON.stringify(validOrder()),
    });
    assert.equal(response.status, 202);
    const { id } = (await response.json()) as { id: string };
    for (const worker of ["inventory", "notification"]) {
      const [message] = await arrive(readers[worker]!, id, ["order.placed"]);
      assert.equal(message!.attributes.type, "order.placed");
      assert.equal(message!.attributes.traceparent, traceparent);
      const event = orderPlacedEvent.parse(message!.body);
      assert.equal(event.data.orderId, id);
      assert.equal(event.data.customerId, "cust-1");
      assert.equal(event.traceparent, traceparent);
    }

    const cancel = await fetch(`${apiUrl}/v1/orders/${id}/cancel`, { method: "POST" });
    assert.equal(cancel.status, 202);
    for (const worker of ["inventory", "shipment", "notification"]) {
      await arrive(readers[worker]!, id, ["order.cancelled"]);
    }
    await readers.shipment!.poll();
    assert.ok(
      !eventsFor(readers.shipment!, id).some((r) => r.body.type === "order.placed"),
      "shipment does not get order.placed",
    );
    const metrics = await (await fetch(`${api.managementUrl}/metrics`)).text();
    assert.match(metrics, /eventfleet_relay_publishes_total\{outcome="success"\} [1-9]/);
    assert.match(metrics, /eventfleet_outbox_oldest_age_seconds \d/);
  });
});

void describe("eventfleet relay killed between reading and publishing", () => {
  let env: Record<string, string>;
  let blackHole: Server;
  const relays: RoleProcess[] = [];

  before(async () => {
    env = await createTestEnv({ aws: true });
    // An "SNS" that accepts connections and never answers: the relay has read the entry and is mid-publish.
    blackHole = createServer(() => undefined);
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", () => resolve()));
  });
  after(async () => {
    await Promise.all(relays.map((r) => r.kill()));
    blackHole.close();
  });

  void test("the event is still published by another relay, with the same CloudEvent id", async () => {
    const redis = new Redis(env.REDIS_URL!);
    try {
      const store = new OrderStore(redis, { env: env.EVENTFLEET_ENV! });
      const orderId = randomUUID();
      const event = newCloudEvent({
        type: "order.placed",
        source: "/test",
        subject: orderSubject(orderId),
        data: { orderId },
        traceparent: newTraceparent(),
      });
      const port = (blackHole.address() as { port: number }).port;
      const doomed = await startRole(["relay"], { ...env, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
      relays.push(doomed);
      await doomed.waitReady();
      await store.appendToOutbox([event]);
      await waitFor(
        async () => {
          return (await outboxPending(redis, store.keys)) === 1;
        },
        { description: "the first relay holding the entry (read, not acknowledged)" },
      );
      await doomed.kill();

      const rescuer = await startRole(["relay"], { ...env, RELAY_CLAIM_IDLE_MS: "500" });
      relays.push(rescuer);
      const inventory = new QueueReader(env, env.INVENTORY_QUEUE_URL!);
      try {
        const received = await arrive(inventory, orderId, ["order.placed"]);
        assert.ok(
          received.every((r) => r.body.id === event.id),
          "any duplicate has the same CloudEvent id",
        );
        await waitFor(async () => (await outboxPending(redis, store.keys)) === 0, {
          description: "the entry acknowledged",
        });
      } finally {
        inventory.close();
      }
    } finally {
      redis.disconnect();
    }
  });
});

void describe("eventfleet api while its Redis goes down and comes back", () => {
  void test("readiness fails and writes answer 503 while Redis is down; the process stays up and recovers", async () => {
    const env = await createTestEnv({ aws: true });
    const redis = await startLocalRedis();
    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const api = await startRole(["api"], { ...env, REDIS_URL: redis.url, API_PORT: String(port) });
    const place = async () =>
      (
        await fetch(`${apiUrl}/v1/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(validOrder()),
        })
      ).status;
    try {
      await api.waitReady();
      assert.equal(await place(), 202);
      await redis.kill();
      await waitFor(async () => (await fetch(`${api.managementUrl}/readyz`)).status === 503, {
        description: "/readyz failing while Redis is down",
      });
      assert.equal(await place(), 503);
      assert.equal((await fetch(`${api.managementUrl}/healthz`)).status, 200, "alive all the same");
      await redis.start();
      await api.waitReady();
      await waitFor(async () => (await place()) === 202, { description: "orders accepted again" });
      assert.equal(api.child.exitCode, null);
    } finally {
      await api.stop();
      await redis.stop();
    }
  });
});
