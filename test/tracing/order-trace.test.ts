// An order is one trace in a real Jaeger: POST /v1/orders → outbox → relay → SNS/SQS → each worker → webhook, every
// role its own process exporting OTLP; retries and dead letters are span events with their reason.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  TestWebhook,
  startApi,
  startWorker,
  stopWorker,
  type ApiProcess,
  type WorkerName,
  type WorkerProcess,
} from "../support/saga-stack.ts";
import {
  TestJaeger,
  describeTrace,
  orphans,
  parentOf,
  serviceOf,
  spanEvents,
  tag,
  type JaegerSpan,
  type JaegerTrace,
} from "../support/jaeger.ts";
import { createTestEnv } from "../support/stack.ts";
import { waitFor } from "../support/wait.ts";

const SAGA = { timeoutMs: 90_000, intervalMs: 200 };

describe("an order is one trace in Jaeger", () => {
  let jaeger: TestJaeger;
  let api: ApiProcess;
  let env: Record<string, string>;
  const webhook = new TestWebhook();
  const workers = new Map<WorkerName, WorkerProcess>();

  before(async () => {
    jaeger = await TestJaeger.start();
    env = await createTestEnv({ aws: true, visibilityTimeoutSeconds: 3, maxReceiveCount: 4 });
    await webhook.start();
    const traced = { ...env, ...jaeger.otelEnv };
    api = await startApi(traced);
    const workerEnv = {
      ...traced,
      NOTIFY_WEBHOOK_URL: webhook.url,
      NOTIFY_WEBHOOK_SECRET: webhook.secret,
      WORKER_RETRY_BASE_SECONDS: "1",
      WORKER_RETRY_MAX_SECONDS: "2",
    };
    await Promise.all(
      (["inventory", "shipment", "notification"] as const).map(async (name) =>
        workers.set(name, await startWorker(name, workerEnv)),
      ),
    );
  });

  after(async () => {
    await Promise.all([...workers.values()].map((w) => stopWorker(w)));
    if (api?.child.exitCode === null) {
      api.child.kill("SIGTERM");
      await api.exited;
    }
    await webhook.stop();
    await jaeger?.stop();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  /** An order request for `quantity` of a SKU of its own, stocked with 5. */
  async function stockedOrder(quantity: number): Promise<Record<string, unknown>> {
    const sku = `TRACE-${randomUUID().slice(0, 8)}`;
    assert.equal((await call("PUT", `/v1/inventory/${sku}`, { available: 5 })).status, 200);
    return {
      customerId: "customer-trace",
      items: [{ sku, quantity, unitPriceCents: 1250 }],
      currency: "EUR",
      shippingAddress: { name: "Ada", line1: "1 Loop St", city: "London", postalCode: "N1", country: "GB" },
      contact: { email: "ada@example.com" },
    };
  }

  async function place(quantity: number): Promise<string> {
    const { status, body } = await call("POST", "/v1/orders", await stockedOrder(quantity));
    assert.equal(status, 202);
    return String(body.id);
  }

  const statusOf = async (id: string) => (await call("GET", `/v1/orders/${id}`)).body.status;

  /** The one trace whose API spans carry the order id. */
  async function traceIdOf(orderId: string): Promise<string> {
    const found = await waitFor(
      async () => {
        const traces = await jaeger.findTraces("eventfleet-api", { "eventfleet.order_id": orderId });
        return traces.length > 0 ? traces : undefined;
      },
      { ...SAGA, description: `a trace of order ${orderId} in Jaeger` },
    );
    assert.equal(new Set(found.map((t) => t.traceID)).size, 1, "the order's spans are in one trace");
    return found[0]!.traceID;
  }

  const processSpans = (trace: JaegerTrace, worker: string) =>
    trace.spans.filter(
      (s) => s.operationName.startsWith("process ") && serviceOf(trace, s) === `eventfleet-${worker}`,
    );

  test("POST to SHIPPED is one trace: every hop in order, each the child of the one before, no orphans", async () => {
    const id = await place(2);
    await waitFor(async () => (await statusOf(id)) === "SHIPPED", { ...SAGA, description: "SHIPPED" });
    await waitFor(() => webhook.delivered(id).length === 2, { ...SAGA, description: "two notifications" });
    const traceId = await traceIdOf(id);
    const trace = await jaeger.waitForTrace(
      traceId,
      // Each process exports on its own schedule: the trace is whole once no span's parent is still missing.
      (t) =>
        orphans(t).length === 0 &&
        processSpans(t, "notification").length >= 2 &&
        t.spans.filter((s) => serviceOf(t, s) === "eventfleet-notification" && s.operationName === "POST")
          .length >= 2,
      "the whole saga in the trace",
    );
    const tree = describeTrace(trace);
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const parent = (span: JaegerSpan) => byId.get(parentOf(span) ?? "");

    assert.deepEqual(orphans(trace), [], `no orphan spans:\n${tree}`);
    const roots = trace.spans.filter((s) => parentOf(s) === undefined);
    assert.equal(roots.length, 1, `one root:\n${tree}`);
    assert.equal(roots[0]!.operationName, "POST /v1/orders", tree);
    assert.equal(serviceOf(trace, roots[0]!), "eventfleet-api");
    // What an operator searches by: the request's own span, not only a child, names the order it created.
    assert.equal(tag(roots[0]!, "eventfleet.order_id"), id, `the root span carries the order id:\n${tree}`);

    // Walk the saga: each hop is found under the previous one and starts no earlier.
    const chain: JaegerSpan[] = [roots[0]!];
    const next = (predicate: (s: JaegerSpan) => boolean, what: string, under: JaegerSpan) => {
      // The nearest one: a later hop of the same kind is below it too.
      const found = trace.spans
        .filter((s) => predicate(s) && isBelow(s, under))
        .sort((a, b) => a.startTime - b.startTime)[0];
      assert.ok(found, `${what} under ${under.operationName}:\n${tree}`);
      assert.ok(
        found.startTime >= chain.at(-1)!.startTime,
        `${what} starts after the hop before it:\n${tree}`,
      );
      chain.push(found);
      return found;
    };
    const isBelow = (span: JaegerSpan, ancestor: JaegerSpan): boolean => {
      for (let p = parent(span); p; p = parent(p)) if (p.spanID === ancestor.spanID) return true;
      return false;
    };
    const created = (type: string) => (s: JaegerSpan) =>
      s.operationName === "create orders" && (tag(s, "cloudevents.event_type") ?? type) === type;
    const relayed = (create: JaegerSpan) => {
      const send = trace.spans.find(
        (s) => s.operationName === "send orders" && parentOf(s) === create.spanID,
      );
      assert.ok(send, `the relay's send span under ${create.operationName}:\n${tree}`);
      assert.equal(serviceOf(trace, send), "eventfleet-api");
    };
    const processedBy = (worker: string, type: string) => (s: JaegerSpan) =>
      serviceOf(trace, s) === `eventfleet-${worker}` &&
      s.operationName.startsWith("process ") &&
      tag(s, "cloudevents.event_type") === type;

    const placed = next(created("order.placed"), "outbox write of order.placed", roots[0]!);
    relayed(placed);
    const inventory = next(processedBy("inventory", "order.placed"), "inventory", placed);
    const reserved = next(created("unknown"), "follow-up inventory.reserved", inventory);
    relayed(reserved);
    const shipment = next(processedBy("shipment", "inventory.reserved"), "shipment", reserved);
    const shipped = next(created("unknown"), "follow-up order.shipped", shipment);
    relayed(shipped);
    const notify = next(
      processedBy("notification", "order.shipped"),
      "notification of order.shipped",
      shipped,
    );
    const call = next(
      (s) => s.operationName === "POST" && serviceOf(trace, s) === "eventfleet-notification",
      "webhook call",
      notify,
    );
    assert.match(String(tag(call, "url.full")), /\/notify$/);

    for (const span of trace.spans.filter((s) => s.operationName.startsWith("process ")))
      assert.equal(tag(span, "eventfleet.order_id"), id, `${span.operationName} carries the order id`);
    assert.ok(
      trace.spans.some((s) => parentOf(s) === roots[0]!.spanID && tag(s, "eventfleet.order_id") === id),
      `the request's handler span carries the order id:\n${tree}`,
    );

    // Log lines of the spans carry their ids; the handler histogram keeps the trace as its exemplar.
    const shipmentWorker = workers.get("shipment")!;
    const lines = shipmentWorker
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l: string) => JSON.parse(l) as Record<string, unknown>);
    const traced = lines.filter((l) => l.trace_id === traceId);
    assert.ok(traced.length > 0, `a shipment log line with trace_id ${traceId}`);
    assert.ok(
      traced.every((l) => typeof l.span_id === "string" && byId.has(l.span_id)),
      "their span_id names a span of the trace",
    );
    const metrics = await fetch(`${shipmentWorker.managementUrl}/metrics`, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
    });
    assert.match(metrics.headers.get("content-type") ?? "", /openmetrics/);
    const exemplar = (await metrics.text())
      .split("\n")
      .find((l) => l.startsWith("eventfleet_handler_duration_seconds_bucket") && l.includes("# {"));
    assert.ok(exemplar, "a handler duration bucket with an exemplar");
    assert.match(exemplar, new RegExp(`trace_id="${traceId}"`));
  });

  test("a POST replayed by its Idempotency-Key is traced under the order the key made, marked as a replay", async () => {
    const order = JSON.stringify(await stockedOrder(1));
    const key = randomUUID();
    const post = () =>
      fetch(`${api.url}/v1/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: order,
      });
    const first = await post();
    assert.equal(first.status, 202);
    const id = String(((await first.json()) as { id: string }).id);
    const again = await post();
    assert.equal(again.status, 202);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(((await again.json()) as { id: string }).id, id);
    // Both requests' traces carry the order's id; the replay's says it was one, on the request's own span.
    const replay = await waitFor(
      async () => {
        const traces = await jaeger.findTraces("eventfleet-api", { "eventfleet.order_id": id });
        const replays = traces.filter((t) =>
          t.spans.some((s) => tag(s, "eventfleet.idempotent_replay") === true),
        );
        return traces.length === 2 && replays.length === 1 ? replays[0] : undefined;
      },
      { ...SAGA, description: `the first request's and the replay's traces of order ${id}` },
    );
    const tree = describeTrace(replay);
    const roots = replay.spans.filter((s) => parentOf(s) === undefined);
    assert.equal(roots.length, 1, tree);
    assert.equal(roots[0]!.operationName, "POST /v1/orders", tree);
    assert.equal(
      tag(roots[0]!, "eventfleet.order_id"),
      id,
      `the replay's root names the stored order:\n${tree}`,
    );
    assert.equal(tag(roots[0]!, "eventfleet.idempotent_replay"), true, tree);
    for (const span of replay.spans.filter((s) => tag(s, "eventfleet.order_id") !== undefined))
      assert.equal(
        tag(span, "eventfleet.order_id"),
        id,
        `${span.operationName} names the stored order:\n${tree}`,
      );
  });

  test("a redelivered message shows both attempts in the order's trace, the first with its retry reason", async () => {
    webhook.mode = "down";
    const id = await place(1);
    const traceId = await traceIdOf(id);
    await jaeger.waitForTrace(
      traceId,
      (t) => processSpans(t, "notification").some((s) => spanEvents(s).some((e) => e.name === "retry")),
      "a failed notification attempt",
    );
    webhook.mode = "ok";
    const trace = await jaeger.waitForTrace(
      traceId,
      (t) => {
        const placedAttempts = processSpans(t, "notification").filter(
          (s) => tag(s, "cloudevents.event_type") === "order.placed",
        );
        return (
          orphans(t).length === 0 &&
          placedAttempts.some((s) => !spanEvents(s).some((e) => e.name === "retry")) &&
          placedAttempts.length >= 2
        );
      },
      "a later attempt that succeeded",
    );
    const attempts = processSpans(trace, "notification")
      .filter((s) => tag(s, "cloudevents.event_type") === "order.placed")
      .sort((a, b) => a.startTime - b.startTime);
    const tree = describeTrace(trace);
    assert.equal(new Set(attempts.map((s) => tag(s, "cloudevents.event_id"))).size, 1, "one event");
    assert.equal(tag(attempts[0]!, "eventfleet.attempt"), 1, tree);
    assert.ok(Number(tag(attempts.at(-1)!, "eventfleet.attempt")) >= 2, tree);
    const retry = spanEvents(attempts[0]!).find((e) => e.name === "retry");
    assert.ok(retry, tree);
    assert.match(String(retry.attributes["eventfleet.reason"]), /503/);
    assert.deepEqual(orphans(trace), [], tree);
  });

  test("a dead-lettered message shows the move to the DLQ and its reason", async () => {
    webhook.mode = "reject";
    try {
      const id = await place(1);
      const traceId = await traceIdOf(id);
      const trace = await jaeger.waitForTrace(
        traceId,
        (t) =>
          processSpans(t, "notification").some((s) => spanEvents(s).some((e) => e.name === "dead_letter")),
        "a dead letter",
      );
      const letter = processSpans(trace, "notification")
        .flatMap((s) => spanEvents(s))
        .find((e) => e.name === "dead_letter")!;
      assert.equal(letter.attributes["eventfleet.reason"], "webhook_rejected");
      assert.match(String(letter.attributes["messaging.destination.name"]), /notification.*dlq/i);
    } finally {
      webhook.mode = "ok";
    }
  });
});
