// Order-side faults the process-kill chaos never tried: Redis losing its data (crash without persistence) or keeping
// it (AOF), SNS/SQS resetting or black-holing connections while the API's readiness is sampled, and a message that
// fails every attempt.
import { setTimeout as delay } from "node:timers/promises";
import { anyFreePort } from "../../../dev/stack/ports.ts";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../../../shared/aws-clients.ts";
import { QueueReader } from "../queue-reader.ts";
import { RestartableRedis } from "../restartable-redis.ts";
import { RoleRunner } from "../role-runner.ts";
import { validOrder } from "../sample-order.ts";
import { createTestEnv } from "../stack.ts";
import { TcpFaultProxy } from "../tcp-fault-proxy.ts";
import { waitFor } from "../wait.ts";
import { FaultLog, type ChaosResult, type InvariantResult } from "./chaos-report.ts";

/**
 * The API (with its in-process relay when `apiRelay`) and a relay alone, on a Redis of the run's own, SNS/SQS
 * reached through a fault proxy.
 */
async function orderRoles(redis: RestartableRedis, extraEnv: Record<string, string> = {}, apiRelay = false) {
  const base = await createTestEnv({ aws: true, maxReceiveCount: 3, visibilityTimeoutSeconds: 5 });
  const aws = new TcpFaultProxy(Number(new URL(base.AWS_ENDPOINT_URL!).port));
  await aws.up();
  const apiPort = await anyFreePort();
  const env: Record<string, string> = {
    ...base,
    REDIS_URL: redis.url,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${aws.port}`,
    API_PORT: String(apiPort),
    RATE_LIMIT_PER_SECOND: "0",
    RELAY_STALL_AFTER_MS: "5000",
    SHUTDOWN_TIMEOUT_MS: "10000",
    ...extraEnv,
  };
  const api = new RoleRunner({ name: "api", args: apiRelay ? ["api"] : ["api", "--relay=off"], env });
  const relay = new RoleRunner({ name: "relay", args: ["relay"], env });
  const inventory = new QueueReader(base, base.INVENTORY_QUEUE_URL!);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  /** Places an order (retrying while the API cannot answer); its id, or undefined when never accepted. */
  const place = async (deadlineMs = 60_000): Promise<string | undefined> => {
    const deadline = Date.now() + deadlineMs;
    const key = crypto.randomUUID();
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${apiUrl}/v1/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": key },
          body: JSON.stringify(validOrder()),
          signal: AbortSignal.timeout(5000),
        });
        const body = (await response.json()) as { id?: string };
        if (response.status === 202 || response.status === 201) return body.id;
      } catch {
        // Redis restarting: the client retries with the same key
      }
      await delay(250);
    }
    return undefined;
  };
  const published = (orderIds: string[], timeoutMs: number) =>
    waitFor(
      async () => {
        const seen = new Set(
          (await inventory.poll()).map((r) => (r.body.data as { orderId?: string } | undefined)?.orderId),
        );
        return orderIds.every((id) => seen.has(id));
      },
      { timeoutMs, intervalMs: 250, description: `${orderIds.length} orders published` },
    ).then(
      () => [] as string[],
      () => {
        const seen = new Set(
          inventory.received.map((r) => (r.body.data as { orderId?: string } | undefined)?.orderId),
        );
        return orderIds.filter((id) => !seen.has(id));
      },
    );
  return { env, aws, api, relay, inventory, place, published, apiUrl };
}

export interface RedisLossOptions {
  /** Orders placed before the crash and again after it. */
  ordersPerPhase: number;
  /** AOF on (production) or off (a failover to an empty replica, a flush). */
  persistence: boolean;
  progress?: (line: string) => void;
}

/** Redis SIGKILLed and restarted: with persistence nothing is lost; without, the relay recreates what is missing. */
export async function runRedisLossChaos(options: RedisLossOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const runStarted = performance.now();
  const faults = new FaultLog();
  const redis = new RestartableRedis({ persistence: options.persistence });
  await redis.start();
  const roles = await orderRoles(redis);
  const mode = options.persistence ? "AOF on" : "no persistence";
  try {
    for (const role of [roles.api, roles.relay]) await role.start();
    await Promise.all([roles.api.waitReady(), roles.relay.waitReady()]);
    const before: string[] = [];
    for (let i = 0; i < options.ordersPerPhase; i++) before.push((await roles.place())!);
    const unpublishedBefore = await roles.published(before, 60_000);
    say(`redis-loss (${mode}): ${before.length} orders placed and published; SIGKILL Redis`);
    const crashAt = faults.elapsedMs();
    const downMs = await redis.crash();
    faults.record("SIGKILL", `redis (${mode})`, `restarted in ${(downMs / 1000).toFixed(1)} s`, crashAt);
    const after: (string | undefined)[] = [];
    for (let i = 0; i < options.ordersPerPhase; i++) after.push(await roles.place());
    const accepted = after.filter((id): id is string => id !== undefined);
    const unpublishedAfter = await roles.published(accepted, 60_000);
    let relayReady = true;
    await roles.relay.waitReady(30_000).catch(() => (relayReady = false));
    say(`redis-loss (${mode}): ${accepted.length} orders placed after the crash`);

    const invariants: InvariantResult[] = [];
    const check = (name: string, checked: number, violations: string[]) =>
      invariants.push({ name, checked, violations });
    check("every order placed before the crash published", before.length, unpublishedBefore);
    check(
      "every order placed after the crash accepted",
      after.length,
      after.flatMap((id, i) => (id ? [] : [`order #${i} refused for 60 s`])),
    );
    check(
      "every order accepted after the crash published (group and stream recreated)",
      accepted.length,
      unpublishedAfter,
    );
    check("the relay is ready again (not stalled)", 1, relayReady ? [] : [roles.relay.tail(3)]);
    if (options.persistence) {
      const missing: string[] = [];
      for (const id of before) {
        const response = await fetch(`${roles.apiUrl}/v1/orders/${id}`);
        await response.arrayBuffer();
        if (response.status !== 200) missing.push(`${id}: ${response.status}`);
      }
      check("with AOF every order placed before the crash still exists", before.length, missing);
    }
    return {
      scenario: `Redis crash (${mode})`,
      parameters: { ordersPerPhase: options.ordersPerPhase, persistence: options.persistence },
      durationMs: performance.now() - runStarted,
      faults: faults.faults,
      counts: { placedBefore: before.length, acceptedAfter: accepted.length },
      invariants,
    };
  } finally {
    await Promise.all([roles.api.stop(), roles.relay.stop()]);
    await roles.aws.close();
    await redis.stop();
  }
}

export interface SnsFaultOptions {
  /** reset: connections refused and reset; blackhole: accepted and never answered. */
  fault: "reset" | "blackhole";
  faultMs: number;
  orders: number;
  progress?: (line: string) => void;
}

/**
 * SNS/SQS unreachable or hanging while orders keep coming: the API stays ready and accepts every order, the relay
 * reports itself stalled (readiness and eventfleet_relay_stalled) and publishes everything once SNS answers again.
 */
export async function runSnsFaultChaos(options: SnsFaultOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const runStarted = performance.now();
  const faults = new FaultLog();
  const redis = new RestartableRedis();
  await redis.start();
  // The API runs its relay in-process (as by default): its readiness must not follow the relay's.
  const roles = await orderRoles(redis, {}, true);
  try {
    for (const role of [roles.api, roles.relay]) await role.start();
    await Promise.all([roles.api.waitReady(), roles.relay.waitReady()]);
    const faultAt = faults.elapsedMs();
    if (options.fault === "reset") await roles.aws.down();
    else roles.aws.blackHole();
    say(`sns-${options.fault}: SNS/SQS ${options.fault} for ${options.faultMs / 1000} s`);
    const apiSamples: string[] = [];
    let apiSampled = 0;
    let relayStalledSeen = false;
    const accepted: string[] = [];
    const until = Date.now() + options.faultMs;
    const perOrderMs = options.faultMs / options.orders;
    while (Date.now() < until) {
      const id = await roles.place(5000);
      if (id) accepted.push(id);
      apiSampled += 1;
      const ready = await fetch(`${roles.api.managementUrl}/readyz`, {
        signal: AbortSignal.timeout(2000),
      }).then(
        async (r) => `${r.status} ${await r.text()}`,
        (error: unknown) => `no answer: ${String(error)}`,
      );
      if (!ready.startsWith("200"))
        apiSamples.push(`${((faults.elapsedMs() - faultAt) / 1000).toFixed(1)} s: ${ready}`);
      // Two relays share each stream's consumer group (the API's in-process one and the relay role), and since the
      // outbox became one stream per slot group each entry goes to whichever reads that stream first: the relay
      // holding an unpublished entry is the one that stalls, and it may be either (the full run once gave every early
      // entry to the API's relay, and the relay role, finding its streams empty, rightly never stalled).
      for (const role of [roles.relay, roles.api])
        if ((await role.metric("eventfleet_relay_stalled")) === 1) relayStalledSeen = true;
      await delay(perOrderMs);
    }
    if (options.fault === "reset") await roles.aws.up();
    else roles.aws.restore();
    faults.record(
      options.fault,
      "sns+sqs",
      `${options.fault} for ${(options.faultMs / 1000).toFixed(0)} s`,
      faultAt,
    );
    say(`sns-${options.fault}: back; ${accepted.length} orders accepted meanwhile`);
    const unpublished = await roles.published(accepted, 120_000);
    let relayReady = true;
    await roles.relay.waitReady(60_000).catch(() => (relayReady = false));

    const invariants: InvariantResult[] = [];
    const check = (name: string, checked: number, violations: string[]) =>
      invariants.push({ name, checked, violations });
    check("the API (relay in-process) stayed ready throughout: it can take orders", apiSampled, apiSamples);
    check(
      "every order was accepted during the fault",
      apiSampled,
      accepted.length === apiSampled ? [] : [`${apiSampled - accepted.length} refused`],
    );
    check(
      "a relay holding entries showed itself stalled (eventfleet_relay_stalled 1 during the fault)",
      1,
      options.faultMs > 5000 && !relayStalledSeen ? ["never 1"] : [],
    );
    check("every accepted order published once SNS answered", accepted.length, unpublished);
    check("the relay ready again afterwards", 1, relayReady ? [] : [roles.relay.tail(3)]);
    return {
      scenario: `SNS/SQS ${options.fault === "reset" ? "reset" : "black hole"}`,
      parameters: { fault: options.fault, faultMs: options.faultMs, orders: options.orders },
      durationMs: performance.now() - runStarted,
      faults: faults.faults,
      counts: { accepted: accepted.length, apiReadinessSamples: apiSampled },
      invariants,
    };
  } finally {
    roles.aws.restore();
    await Promise.all([roles.api.stop(), roles.relay.stop()]);
    await roles.aws.close();
    await redis.stop();
  }
}

export interface PoisonOptions {
  messages: number;
  progress?: (line: string) => void;
}

/**
 * Order events whose webhook answers 500 every time: the notification worker dead-letters each on its last allowed
 * attempt, with reason retries_exhausted and the last error, instead of SQS moving it without either.
 */
export async function runPoisonChaos(options: PoisonOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const runStarted = performance.now();
  const redis = new RestartableRedis();
  await redis.start();
  const failing = await import("node:http").then(
    ({ createServer }) =>
      new Promise<{ url: string; close: () => void; calls: () => number }>((resolve) => {
        let calls = 0;
        const server = createServer((_req, res) => {
          calls += 1;
          res.writeHead(500).end("always broken");
        });
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as { port: number };
          resolve({ url: `http://127.0.0.1:${port}/hook`, close: () => server.close(), calls: () => calls });
        });
      }),
  );
  const roles = await orderRoles(redis, {
    NOTIFY_WEBHOOK_URL: failing.url,
    NOTIFY_WEBHOOK_SECRET: "chaos-secret-chaos-secret",
    WORKER_RETRY_BASE_SECONDS: "1",
    WORKER_RETRY_MAX_SECONDS: "1",
  });
  const worker = new RoleRunner({ name: "notification", args: ["worker", "notification"], env: roles.env });
  const sqs = createSqsClient({
    AWS_REGION: roles.env.AWS_REGION!,
    AWS_ENDPOINT_URL: roles.env.AWS_ENDPOINT_URL,
  });
  try {
    for (const role of [roles.api, roles.relay, worker]) await role.start();
    await Promise.all([roles.api.waitReady(), roles.relay.waitReady(), worker.waitReady()]);
    const orders: string[] = [];
    for (let i = 0; i < options.messages; i++) orders.push((await roles.place())!);
    say(`poison: ${orders.length} orders placed; their notifications fail every attempt`);
    const letters: { reason?: string; error?: string; body: string }[] = [];
    await waitFor(
      async () => {
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: roles.env.NOTIFICATION_DLQ_URL!,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            VisibilityTimeout: 600,
            MessageAttributeNames: ["All"],
          }),
        );
        for (const m of Messages ?? [])
          letters.push({
            reason: m.MessageAttributes?.reason?.StringValue,
            error: m.MessageAttributes?.error?.StringValue,
            body: m.Body ?? "",
          });
        return orders.every((id) => letters.some((l) => l.body.includes(id)));
      },
      { timeoutMs: 120_000, intervalMs: 500, description: "every notification dead-lettered" },
    ).catch(() => undefined);
    const invariants: InvariantResult[] = [
      {
        name: "every poison message in the DLQ",
        checked: orders.length,
        violations: orders.filter((id) => !letters.some((l) => l.body.includes(id))),
      },
      {
        name: "each dead letter carries reason retries_exhausted and the last error",
        checked: letters.length,
        violations: letters
          .filter((l) => l.reason !== "retries_exhausted" || !/500/.test(l.error ?? ""))
          .map((l) => `reason=${l.reason ?? "(none)"} error=${(l.error ?? "(none)").slice(0, 80)}`),
      },
    ];
    return {
      scenario: "Poison message",
      parameters: { messages: options.messages, maxReceiveCount: 3 },
      durationMs: performance.now() - runStarted,
      faults: [],
      counts: { deadLetters: letters.length, webhookCalls: failing.calls() },
      invariants,
    };
  } finally {
    await Promise.all([roles.api.stop(), roles.relay.stop(), worker.stop()]);
    failing.close();
    await roles.aws.close();
    await redis.stop();
  }
}
