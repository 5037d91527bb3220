// The order saga for system tests: each worker its own `eventfleet worker <name>` process, a relay, a test webhook.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { SNSClient } from "@aws-sdk/client-sns";
import { PublishCommand } from "@aws-sdk/client-sns";
import { parseEnv, redisEnv } from "../../shared/config.ts";
import { createRedisClient, type RedisClient } from "../../shared/redis-connection.ts";
import { resolveRedisTarget } from "../../shared/redis-target.ts";
import { createSnsClient } from "../../shared/aws-clients.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { verifySignature } from "../../workers/notification/webhook-signature.ts";
import { freePort } from "./ports.ts";
import { ROOT } from "./stack.ts";
import { waitFor } from "./wait.ts";

export type WorkerName = "inventory" | "shipment" | "notification";

export interface WorkerProcess {
  name: WorkerName;
  child: ChildProcess;
  managementUrl: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWorker(
  name: WorkerName,
  env: Record<string, string>,
  extra: Record<string, string> = {},
): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "bin/eventfleet.js"), "worker", name], {
    cwd: ROOT,
    env: { ...process.env, ...env, MANAGEMENT_PORT: String(port), LOG_LEVEL: "info", ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const managementUrl = `http://127.0.0.1:${port}`;
  const worker: WorkerProcess = { name, child, managementUrl, output: () => output, exited };
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`worker ${name} exited ${child.exitCode}: ${output.slice(-2000)}`);
      const response = await fetch(`${managementUrl}/readyz`);
      return response.status === 200;
    },
    { description: `worker ${name} to be ready`, timeoutMs: 60_000, intervalMs: 200 },
  );
  return worker;
}

export async function stopWorker(worker: WorkerProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill(signal);
  await worker.exited;
}

/** One counter value from a worker's /metrics. */
export async function metricValue(
  worker: WorkerProcess,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`${worker.managementUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.split(" ").pop());
  }
  return 0;
}

/** What the test webhook received, and how it should answer (per order id). */
export interface WebhookDelivery {
  orderId: string;
  type: string;
  eventId: string;
  idempotencyKey: string | undefined;
  signatureValid: boolean;
  answered: number;
}

export type WebhookMode = "ok" | "down" | "reject" | "hang";

export class TestWebhook {
  readonly secret = randomBytes(24).toString("hex");
  readonly deliveries: WebhookDelivery[] = [];
  /** Default answer; `modes` overrides it per order id. */
  mode: WebhookMode = "ok";
  readonly modes = new Map<string, WebhookMode>();
  readonly #hanging: Array<{ answer: () => void; drop: () => void }> = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/notify`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const payload = JSON.parse(body) as { orderId: string; type: string; eventId: string };
    const mode = this.modes.get(payload.orderId) ?? this.mode;
    const signature = request.headers["x-eventfleet-signature"];
    const answer = (status: number) => {
      this.deliveries.push({
        orderId: payload.orderId,
        type: payload.type,
        eventId: payload.eventId,
        idempotencyKey: request.headers["idempotency-key"] as string | undefined,
        signatureValid: verifySignature(
          this.secret,
          body,
          typeof signature === "string" ? signature : undefined,
        ),
        answered: status,
      });
      response.writeHead(status, { "content-type": "application/json" }).end("{}");
    };
    if (mode === "hang") {
      this.#hanging.push({ answer: () => answer(200), drop: () => response.destroy() });
      return;
    }
    answer(mode === "ok" ? 200 : mode === "down" ? 503 : 400);
  }

  get hanging(): number {
    return this.#hanging.length;
  }

  /** Answers every hanging request with 200. */
  releaseHanging(): void {
    for (const request of this.#hanging.splice(0)) request.answer();
  }

  /** Closes every hanging request without an answer (its caller is gone). */
  dropHanging(): void {
    for (const request of this.#hanging.splice(0)) request.drop();
  }

  delivered(orderId: string, type?: string): WebhookDelivery[] {
    return this.deliveries.filter(
      (d) => d.orderId === orderId && d.answered === 200 && (!type || d.type === type),
    );
  }

  async stop(): Promise<void> {
    this.releaseHanging();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

/** The API's side of the saga for tests: the order store (what the API writes) and raw SNS publishing. */
export class SagaDriver {
  readonly redis: RedisClient;
  readonly store: OrderStore;
  readonly sns: SNSClient;
  readonly #env: Record<string, string>;

  constructor(env: Record<string, string>) {
    this.#env = env;
    // As the roles connect: a single Redis (REDIS_URL) or a cluster (REDIS_CLUSTER_NODES).
    this.redis = createRedisClient(resolveRedisTarget(parseEnv(redisEnv, env)), {
      name: "saga-driver",
      profile: "worker",
    });
    this.store = new OrderStore(this.redis, { env: env.EVENTFLEET_ENV! });
    this.sns = createSnsClient({ AWS_REGION: env.AWS_REGION!, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
  }

  /** Publishes a CloudEvent straight to the topic, as the relay would (attributes type and traceparent). */
  async publish(event: { type: string; traceparent?: string }, body = JSON.stringify(event)): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.#env.ORDERS_TOPIC_ARN,
        Message: body,
        MessageAttributes: {
          type: { DataType: "String", StringValue: event.type },
          ...(event.traceparent
            ? { traceparent: { DataType: "String", StringValue: event.traceparent } }
            : {}),
        },
      }),
    );
  }

  async status(orderId: string): Promise<string | undefined> {
    return (await this.store.getOrder(orderId))?.status;
  }

  stop(): Promise<void> {
    this.sns.destroy();
    this.redis.disconnect();
    return Promise.resolve();
  }
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** `eventfleet api` (with its outbox relay) as its own process, on free ports; resolves once /readyz answers 200. */
export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  return startRole(["api"], env);
}

/** `eventfleet relay` alone, as its own process: the one way outbox events reach SNS. */
export async function startRelay(env: Record<string, string>): Promise<ApiProcess> {
  return startRole(["relay"], env);
}

async function startRole(args: string[], env: Record<string, string>): Promise<ApiProcess> {
  const [apiPort, managementPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(ROOT, "bin/eventfleet.js"), ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      API_PORT: String(apiPort),
      MANAGEMENT_PORT: String(managementPort),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`${args.join(" ")} exited ${child.exitCode}: ${output.slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${managementPort}/readyz`)).status === 200;
    },
    { description: `eventfleet ${args.join(" ")} to be ready`, timeoutMs: 60_000, intervalMs: 200 },
  );
  return { url: `http://127.0.0.1:${apiPort}`, child, exited, output: () => output };
}
