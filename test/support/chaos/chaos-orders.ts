// Order chaos: orders at a steady rate through API, relays and workers while processes are killed and Redis restarts,
// fails over or reshards (one Redis or a Redis Cluster of this run).
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { readOutboxBacklogs } from "../../../api/outbox-backlog.ts";
import { RELAY_GROUP } from "../../../api/outbox-relay.ts";
import { anyFreePort } from "../../../dev/stack/ports.ts";
import { createSqsClient } from "../../../shared/aws-clients.ts";
import { redisKeys } from "../../../shared/redis-keys.ts";
import { FINAL_STATUSES, OrderStore, type OrderRecord } from "../../../shared/orders/order-store.ts";
import { Stock } from "../../../shared/orders/stock.ts";
import { TestWebhook } from "../saga-stack.ts";
import { SagaCrashProxy, type CrashMoment } from "../saga-crash-proxy.ts";
import { createTestEnv } from "../stack.ts";
import { Shipments } from "../../../workers/shipment/shipments.ts";
import { FaultLog, type ChaosResult, type InvariantResult } from "./chaos-report.ts";
import { startChaosRedis, type RedisFault } from "./chaos-redis.ts";
import { RoleRunner, type RoleExit } from "../role-runner.ts";
import { SeededRandom } from "../seeded-random.ts";

export interface OrderChaosOptions {
  orders: number;
  /** Orders placed per second (steady). */
  ratePerSecond: number;
  /** SIGKILL/SIGTERM faults on relay and worker processes (alternating, SIGKILL first), spread over the run. */
  processFaults: number;
  /** Restart Redis (AOF on) once in the middle of the run. */
  redisRestart: boolean;
  /** One redis-server (default), or a Redis Cluster of this run: 3 masters, a replica each. */
  redisMode?: "single" | "cluster";
  /**
   * Redis faults, each at a share (0-1) of the placing window, around the slot of the shared SKU's stock
   * (test/support/chaos/chaos-redis.ts): on a cluster `kill-master`, `manual-failover`, `reshard`.
   */
  redisFaults?: Array<{ fault: RedisFault; at: number }>;
  /** Every n-th order is cancelled right after it is accepted (0: none). */
  cancelEvery: number;
  /**
   * SIGKILLs of the inventory and of the shipment worker each (0: none) at a saga step, alternately right after
   * the step's script went to Redis and instead of sending it (test/support/saga-crash-proxy.ts).
   */
  stepCrashes?: number;
  seed: number;
  /** How long the system may take to settle after the last order, before the invariants are checked anyway. */
  settleTimeoutMs: number;
  progress?: (line: string) => void;
}

/** Stock of each order's own SKU and what the order asks for: 2 of 4 reserves, 5 of 4 is rejected. */
const OWN_STOCK = 4;
const OWN_QUANTITY = 2;
const REJECTED_QUANTITY = 5;
/** The SKUs of Kubernetes-like restarts: a killed pod comes back after a short back-off. */
const RESTART_BACKOFF_MS = 1000;

const NOTIFIED_TYPES: Record<string, string[]> = {
  SHIPPED: ["order.placed", "order.shipped"],
  REJECTED: ["order.placed", "inventory.rejected"],
  CANCELLED: ["order.placed", "order.cancelled"],
};

interface PlacedOrder {
  index: number;
  orderId: string;
  ownSku: string;
  hotQuantity: number;
  cancelAsked: boolean;
}

function orderBody(ownSku: string, ownQuantity: number, hotSku: string, hotQuantity: number) {
  return {
    customerId: `chaos-${randomUUID().slice(0, 8)}`,
    items: [
      { sku: ownSku, quantity: ownQuantity, unitPriceCents: 1000 },
      ...(hotQuantity > 0 ? [{ sku: hotSku, quantity: hotQuantity, unitPriceCents: 500 }] : []),
    ],
    currency: "EUR",
    shippingAddress: { name: "Ada", line1: "Main St 1", city: "Berlin", postalCode: "10115", country: "DE" },
    contact: { email: "ada@example.com" },
  };
}

async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

export async function runOrderChaos(options: OrderChaosOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const random = new SeededRandom(options.seed);
  let faults = new FaultLog();
  const counts: Record<string, number> = {
    placeRetries: 0,
    refused: 0,
    cancelsAccepted: 0,
    cancelsRefusedAsTooLate: 0,
    cancelRetries: 0,
  };
  const redis = await startChaosRedis(options.redisMode ?? "single");
  const base = await createTestEnv({ aws: true, visibilityTimeoutSeconds: 5, maxReceiveCount: 10 });
  const env: Record<string, string> = { ...base, ...redis.env };
  const prefix = env.EVENTFLEET_ENV!;
  const webhook = new TestWebhook();
  await webhook.start();
  const apiPort = await anyFreePort();
  const roleEnv: Record<string, string> = {
    ...env,
    NOTIFY_WEBHOOK_URL: webhook.url,
    NOTIFY_WEBHOOK_SECRET: webhook.secret,
    WORKER_RETRY_BASE_SECONDS: "1",
    WORKER_RETRY_MAX_SECONDS: "2",
    SHUTDOWN_TIMEOUT_MS: "10000",
    RELAY_CLAIM_IDLE_MS: "3000",
    RATE_LIMIT_PER_SECOND: "0",
    API_PORT: String(apiPort),
  };
  // The saga workers reach Redis through a proxy that kills them at a step (when asked to).
  const crashProxies = new Map<string, SagaCrashProxy>();
  for (const name of (options.stepCrashes ?? 0) > 0 ? ["inventory", "shipment"] : []) {
    if (redis.port === undefined) throw new Error("saga-step crashes need one Redis (redisMode single)");
    const proxy = new SagaCrashProxy(redis.port);
    await proxy.up();
    crashProxies.set(name, proxy);
  }
  const workerEnv = (name: string) =>
    crashProxies.has(name) ? { ...roleEnv, REDIS_URL: crashProxies.get(name)!.url } : roleEnv;
  const api = new RoleRunner({ name: "api", args: ["api", "--relay=off"], env: roleEnv });
  const targets = [
    new RoleRunner({ name: "relay-1", args: ["relay"], env: roleEnv }),
    new RoleRunner({ name: "relay-2", args: ["relay"], env: roleEnv }),
    new RoleRunner({ name: "inventory", args: ["worker", "inventory"], env: workerEnv("inventory") }),
    new RoleRunner({ name: "shipment", args: ["worker", "shipment"], env: workerEnv("shipment") }),
    new RoleRunner({ name: "notification", args: ["worker", "notification"], env: roleEnv }),
  ];
  const roles = [api, ...targets];
  const client = redis.client("chaos-check");
  const store = new OrderStore(client, { env: prefix });
  const reservations = new Stock(client, { env: prefix });
  const shipments = new Shipments(client, { env: prefix });
  const sqs = createSqsClient({ AWS_REGION: env.AWS_REGION!, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const runStarted = performance.now();
  let started = performance.now();
  const placed: PlacedOrder[] = [];
  const sigtermExits: Array<{ target: string; exit: RoleExit }> = [];
  const hotSku = `${prefix}-HOT`;
  const hotStock = Math.max(1, Math.floor(options.orders * 0.2));

  try {
    for (const role of roles) await role.start();
    await Promise.all(roles.map((role) => role.waitReady()));
    say(`orders: ${roles.length} role processes ready (env ${prefix})`);

    await store.setAvailable(hotSku, hotStock);
    for (let i = 0; i < options.orders; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, options.orders - i) }, (_, j) =>
          store.setAvailable(`${prefix}-own-${i + j}`, OWN_STOCK),
        ),
      );
    }

    const post = async (path: string, body: unknown, key: string, retryKey: string): Promise<Response> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          const response = await fetch(`${apiUrl}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", "idempotency-key": key },
            body: JSON.stringify(body),
          });
          if (response.status < 500 && response.status !== 429) return response;
          await response.arrayBuffer();
        } catch {
          // the API could not answer (Redis restarting): the client retries with the same Idempotency-Key
        }
        counts[retryKey]! += 1;
        if (Date.now() > deadline) throw new Error(`POST ${path} kept failing for 120 s`);
        await delay(250);
      }
    };

    const placeOne = async (index: number): Promise<void> => {
      const ownSku = `${prefix}-own-${index}`;
      const hotQuantity = random.next() < 0.3 ? 1 : 0;
      const quantity = index % 10 === 9 ? REJECTED_QUANTITY : OWN_QUANTITY;
      const cancelAsked = options.cancelEvery > 0 && index % options.cancelEvery === 0;
      const response = await post(
        "/v1/orders",
        orderBody(ownSku, quantity, hotSku, hotQuantity),
        randomUUID(),
        "placeRetries",
      );
      if (response.status !== 202) {
        counts.refused! += 1;
        say(`order ${index} refused: ${response.status} ${await response.text()}`);
        return;
      }
      const { id } = (await response.json()) as { id: string };
      placed.push({ index, orderId: id, ownSku, hotQuantity, cancelAsked });
      if (!cancelAsked) return;
      // Soon enough that most cancels race the saga (it reaches SHIPPED in ~150 ms when idle).
      await delay(random.int(150));
      const cancel = await post(
        `/v1/orders/${id}/cancel`,
        { reason: "chaos" },
        randomUUID(),
        "cancelRetries",
      );
      await cancel.arrayBuffer();
      if (cancel.status === 202) counts.cancelsAccepted! += 1;
      else if (cancel.status === 409) counts.cancelsRefusedAsTooLate! += 1;
      else counts.refused! += 1;
    };

    // The clock of the run (faults, steady rate) starts once everything is up.
    started = performance.now();
    faults = new FaultLog();
    const windowMs = (options.orders / options.ratePerSecond) * 1000;
    // Each fault fires at its planned time, on a process that is up and not already being restarted,
    // so faults overlap with restarts as they would in a cluster.
    const busy = new Set<RoleRunner>();
    const faultDriver = Promise.all(
      Array.from({ length: options.processFaults }, async (_, k) => {
        const at = (windowMs * (k + 1)) / (options.processFaults + 1);
        const signal: NodeJS.Signals = k % 2 === 0 ? "SIGKILL" : "SIGTERM";
        const choice = random.next();
        await delay(Math.max(0, started + at - performance.now()));
        const candidates = targets.filter((t) => !busy.has(t) && t.running);
        if (candidates.length === 0) return;
        const target = candidates[Math.floor(choice * candidates.length)]!;
        busy.add(target);
        const downAt = performance.now();
        const faultAt = faults.elapsedMs();
        const exit = await target.stop(signal, 20_000);
        if (signal === "SIGTERM") sigtermExits.push({ target: target.name, exit });
        await delay(RESTART_BACKOFF_MS);
        await target.start();
        await target.waitReady();
        busy.delete(target);
        faults.record(
          signal,
          target.name,
          `exit ${exit.code ?? exit.signal}; ready again after ${((performance.now() - downAt) / 1000).toFixed(1)} s`,
          faultAt,
        );
        say(`orders: fault ${k + 1}/${options.processFaults}: ${signal} ${target.name}`);
      }),
    );
    let placingDone = () => undefined as void;
    const placingFinished = new Promise<void>((resolve) => (placingDone = resolve));
    counts.stepCrashesNotReached = 0;
    const stepCrashDriver = Promise.all(
      [...crashProxies].map(async ([name, proxy]) => {
        const target = targets.find((t) => t.name === name)!;
        for (let k = 0; k < (options.stepCrashes ?? 0); k++) {
          const moment: CrashMoment = k % 2 === 0 ? "after-step" : "before-step";
          const count = 1 + random.int(4);
          let faultAt = 0;
          const crashed = new Promise<boolean>((resolve) =>
            proxy.arm(count, moment, () => {
              faultAt = faults.elapsedMs();
              target.signal("SIGKILL");
              resolve(true);
            }),
          );
          // Steps come as long as orders do (and a little after, as redeliveries).
          const fired = await Promise.race([
            crashed,
            placingFinished.then(() => delay(10_000)).then(() => false),
          ]);
          if (!fired) {
            proxy.disarm();
            counts.stepCrashesNotReached! += options.stepCrashes! - k;
            return;
          }
          busy.add(target);
          const exit = await target.exited;
          await delay(RESTART_BACKOFF_MS);
          proxy.resume();
          await target.start();
          await target.waitReady();
          busy.delete(target);
          const when =
            moment === "after-step"
              ? "right after its saga step went to Redis (the step ran; the message was not acknowledged)"
              : "instead of sending its saga step (the step never ran)";
          faults.record(
            "SIGKILL",
            name,
            `${when}, step ${count} after arming; exit ${exit.signal ?? exit.code}`,
            faultAt,
          );
          say(`orders: step crash ${k + 1}/${options.stepCrashes}: ${name} ${moment}`);
        }
      }),
    );
    const redisFaults = [
      ...(options.redisRestart ? [{ fault: "restart" as const, at: 0.55 }] : []),
      ...(options.redisFaults ?? []),
    ].sort((a, b) => a.at - b.at);
    const redisFault = (async () => {
      for (const { fault, at } of redisFaults) {
        await delay(Math.max(0, started + windowMs * at - performance.now()));
        const faultAt = faults.elapsedMs();
        const detail = await redis.inject(fault, redisKeys(prefix).stock(hotSku));
        faults.record(fault, `redis (${redis.mode})`, detail, faultAt);
        say(`orders: Redis ${fault}: ${detail}`);
      }
    })();

    const placing: Promise<void>[] = [];
    for (let i = 0; i < options.orders; i++) {
      await delay(Math.max(0, started + (i * 1000) / options.ratePerSecond - performance.now()));
      placing.push(placeOne(i));
      if (i > 0 && i % 100 === 0) say(`orders: placed ${i}/${options.orders}`);
    }
    await Promise.all(placing);
    placingDone();
    await Promise.all([faultDriver, redisFault, stepCrashDriver]);
    say(`orders: all ${placed.length} accepted; waiting for the saga to settle`);

    const queues = ["INVENTORY", "SHIPMENT", "NOTIFICATION"].map((q) => env[`${q}_QUEUE_URL`]!);
    const dlqs = ["INVENTORY", "SHIPMENT", "NOTIFICATION"].map((q) => env[`${q}_DLQ_URL`]!);
    const records = new Map<string, OrderRecord | undefined>();
    const settleDeadline = Date.now() + options.settleTimeoutMs;
    for (;;) {
      const open = placed.filter(
        (p) => !FINAL_STATUSES.includes(records.get(p.orderId)?.status ?? "ACKNOWLEDGED"),
      );
      for (const p of open) records.set(p.orderId, await store.getOrder(p.orderId));
      const stillOpen = open.filter(
        (p) => !FINAL_STATUSES.includes(records.get(p.orderId)?.status ?? "ACKNOWLEDGED"),
      );
      const backlog = await readOutboxBacklogs(client, redisKeys(prefix).outboxStreams(), RELAY_GROUP);
      const depths = await Promise.all(queues.map((q) => queueDepth(sqs, q)));
      const expectedDeliveries = placed.reduce((n, p) => n + (records.get(p.orderId) ? 2 : 0), 0);
      const delivered = new Set(webhook.deliveries.filter((d) => d.answered === 200).map((d) => d.eventId))
        .size;
      if (
        stillOpen.length === 0 &&
        backlog.unacknowledged === 0 &&
        depths.every((d) => d === 0) &&
        delivered >= expectedDeliveries
      )
        break;
      if (Date.now() > settleDeadline) {
        say(
          `orders: not settled: ${stillOpen.length} open, outbox ${backlog.unacknowledged}, queues ${depths.join(",")}`,
        );
        // What the roles last said (warnings and errors: they log at warn), to see where the saga stopped.
        for (const role of roles) say(`orders: ${role.name} last lines:\n${role.tail(4)}`);
        break;
      }
      await delay(1000);
    }
    // Fresh reads for the checks (the history gains NOTIFIED entries after the status is final).
    for (const p of placed) records.set(p.orderId, await store.getOrder(p.orderId));

    const invariants: InvariantResult[] = [];
    const check = (name: string, checked: number, violations: string[]) =>
      invariants.push({ name, checked, violations });

    check(
      "every accepted order reached a final state",
      placed.length,
      placed
        .filter((p) => !FINAL_STATUSES.includes(records.get(p.orderId)?.status ?? "ACKNOWLEDGED"))
        .map((p) => `${p.orderId} ${records.get(p.orderId)?.status ?? "missing"}`),
    );

    const stockViolations: string[] = [];
    let hotCommitted = 0;
    for (const p of placed) {
      const order = records.get(p.orderId);
      if (!order) continue;
      const stock = await store.getStock(p.ownSku);
      const reservation = await reservations.status(p.orderId);
      const released = order.history.filter((h) => h.stage === "STOCK_RELEASED").length;
      const ownQuantity = order.items.find((i) => i.sku === p.ownSku)?.quantity ?? 0;
      const expectedAvailable = order.status === "SHIPPED" ? OWN_STOCK - ownQuantity : OWN_STOCK;
      const expectedReservation =
        order.status === "SHIPPED"
          ? ["shipped"]
          : order.status === "REJECTED"
            ? ["rejected"]
            : // A cancel that beat a rejection leaves "rejected": nothing was held, nothing to give back.
              ["released", "cancelled", "rejected"];
      if (stock.available !== expectedAvailable || stock.reserved !== 0)
        stockViolations.push(
          `${p.orderId} ${order.status}: ${p.ownSku} available ${stock.available} (expected ${expectedAvailable}), reserved ${stock.reserved}`,
        );
      if (!expectedReservation.includes(reservation ?? "none"))
        stockViolations.push(`${p.orderId} ${order.status}: reservation ${reservation ?? "none"}`);
      if (released !== (reservation === "released" ? 1 : 0))
        stockViolations.push(
          `${p.orderId} ${order.status}: STOCK_RELEASED ${released} times with reservation ${reservation ?? "none"}`,
        );
      if (order.status === "SHIPPED") hotCommitted += p.hotQuantity;
    }
    check(
      "stock moved exactly once per reserved order, restored exactly once (one STOCK_RELEASED) per released one",
      placed.length,
      stockViolations,
    );
    const hot = await store.getStock(hotSku);
    check(
      "shared SKU conserved (available + reserved + shipped = seeded)",
      1,
      hot.available + hot.reserved + hotCommitted === hotStock && hot.reserved === 0
        ? []
        : [
            `${hotSku}: available ${hot.available} + reserved ${hot.reserved} + shipped ${hotCommitted} ≠ ${hotStock}`,
          ],
    );

    const shipmentViolations: string[] = [];
    for (const p of placed) {
      const order = records.get(p.orderId);
      if (!order) continue;
      const shipment = await shipments.get(p.orderId);
      const shippedEntries = order.history.filter((h) => h.status === "SHIPPED").length;
      if (order.status === "SHIPPED") {
        if (shipment.status !== "shipped" || !shipment.shipmentId)
          shipmentViolations.push(`${p.orderId} SHIPPED: shipment ${shipment.status ?? "missing"}`);
        if (shippedEntries !== 1)
          shipmentViolations.push(`${p.orderId}: ${shippedEntries} SHIPPED transitions`);
        const recorded = order.history.find((h) => h.status === "SHIPPED")?.detail?.trackingNumber;
        if (recorded !== shipment.trackingNumber)
          shipmentViolations.push(
            `${p.orderId}: history names ${String(recorded)}, shipment ${shipment.trackingNumber}`,
          );
      } else if (shipment.status === "shipped" || shipment.status === "created") {
        shipmentViolations.push(`${p.orderId} ${order.status}: shipment ${shipment.status}`);
      }
    }
    check(
      "one shipment per shipped order (the one its history names), none for the others",
      placed.length,
      shipmentViolations,
    );
    if (crashProxies.size > 0) {
      const planned = crashProxies.size * options.stepCrashes!;
      check(
        "every planned saga-step crash happened",
        planned,
        counts.stepCrashesNotReached > 0
          ? [`${counts.stepCrashesNotReached} of ${planned} never reached`]
          : [],
      );
    }

    const notificationViolations: string[] = [];
    let redeliveries = 0;
    let badSignatures = 0;
    const byOrder = new Map<string, typeof webhook.deliveries>();
    for (const d of webhook.deliveries) byOrder.set(d.orderId, [...(byOrder.get(d.orderId) ?? []), d]);
    for (const p of placed) {
      const order = records.get(p.orderId);
      if (!order) continue;
      const ok = (byOrder.get(p.orderId) ?? []).filter((d) => d.answered === 200);
      badSignatures += ok.filter((d) => !d.signatureValid).length;
      const expected = NOTIFIED_TYPES[order.status] ?? [];
      for (const type of new Set([...expected, ...ok.map((d) => d.type)])) {
        const ofType = ok.filter((d) => d.type === type);
        const distinct = new Set(ofType.map((d) => d.eventId)).size;
        redeliveries += ofType.length - distinct;
        const want = expected.includes(type) ? 1 : 0;
        if (distinct !== want)
          notificationViolations.push(
            `${p.orderId} ${order.status} ${type}: ${distinct} distinct events delivered`,
          );
      }
    }
    check("one delivered notification per (order, event type)", placed.length, notificationViolations);
    check(
      "every webhook call signed correctly",
      webhook.deliveries.length,
      badSignatures > 0 ? [`${badSignatures} deliveries with a bad signature`] : [],
    );

    const backlog = await readOutboxBacklogs(client, redisKeys(prefix).outboxStreams(), RELAY_GROUP);
    check(
      "nothing stuck in the outbox",
      1,
      backlog.unacknowledged === 0
        ? []
        : [
            `${backlog.unacknowledged} unacknowledged, oldest ${backlog.oldestId} (${backlog.oldestAgeSeconds.toFixed(0)} s)`,
          ],
    );
    const dlqViolations: string[] = [];
    for (const url of dlqs) {
      const depth = await queueDepth(sqs, url);
      if (depth === 0) continue;
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
      const ids = Messages.map((m) => {
        try {
          const event = JSON.parse(m.Body ?? "{}") as { type?: string; data?: { orderId?: string } };
          return `${event.type} ${event.data?.orderId}`;
        } catch {
          return m.MessageId;
        }
      });
      dlqViolations.push(`${url.split("/").pop()}: ${depth} (${ids.join(", ")})`);
    }
    check("DLQs empty", dlqs.length, dlqViolations);
    const queueViolations: string[] = [];
    for (const url of queues) {
      const depth = await queueDepth(sqs, url);
      if (depth > 0) queueViolations.push(`${url.split("/").pop()}: ${depth} messages left`);
    }
    check("work queues drained", queues.length, queueViolations);
    check(
      "SIGTERMed processes exited 0",
      sigtermExits.length,
      sigtermExits
        .filter((s) => s.exit.code !== 0)
        .map((s) => `${s.target}: ${s.exit.code ?? s.exit.signal}`),
    );

    const statuses: Record<string, number> = {};
    for (const record of records.values()) {
      const status = record?.status ?? "missing";
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    Object.assign(counts, {
      accepted: placed.length,
      ...Object.fromEntries(Object.entries(statuses).map(([k, v]) => [`final ${k}`, v])),
      webhookCalls: webhook.deliveries.length,
      "webhook redeliveries of an already delivered event (same Idempotency-Key)": redeliveries,
      roleRestarts: targets.reduce((n, t) => n + t.starts - 1, 0),
    });
    return {
      scenario:
        crashProxies.size > 0
          ? "Orders: saga-step crash points"
          : redis.mode === "cluster"
            ? `Orders on a Redis Cluster (${(options.redisFaults ?? []).map((f) => f.fault).join(", ") || "no Redis fault"})`
            : "Orders",
      parameters: {
        orders: options.orders,
        ratePerSecond: options.ratePerSecond,
        processFaults: options.processFaults,
        redisRestart: options.redisRestart,
        redisMode: redis.mode,
        redisFaults: (options.redisFaults ?? []).map((f) => `${f.fault}@${f.at}`).join(", ") || "none",
        cancelEvery: options.cancelEvery,
        stepCrashes: options.stepCrashes ?? 0,
        seed: options.seed,
      },
      durationMs: performance.now() - runStarted,
      faults: faults.faults,
      counts,
      invariants,
    };
  } finally {
    await Promise.all(roles.map((role) => role.stop("SIGTERM", 15_000)));
    await webhook.stop();
    client.disconnect();
    sqs.destroy();
    await Promise.all([...crashProxies.values()].map((proxy) => proxy.close()));
    await redis.stop();
  }
}
