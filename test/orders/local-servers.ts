// Redis and the SNS/SQS emulator (fauxqs) started by a test itself, on free ports, for order-saga tests.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { SQSClient } from "@aws-sdk/client-sqs";
import { startFauxqs } from "fauxqs";
import { Redis } from "ioredis";
import { freePort } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";

export interface LocalServers {
  redisUrl: string;
  awsEndpoint: string;
  region: string;
  fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  sqs(): SQSClient;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<{ url: string; process: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => undefined); // refused until the server listens
  await waitFor(
    async () => {
      if (probe.status !== "ready") await probe.connect().catch(() => undefined);
      return (await probe.ping()) === "PONG";
    },
    { description: "redis-server to answer PING", timeoutMs: 15_000, intervalMs: 100 },
  );
  probe.disconnect();
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export async function startLocalServers(): Promise<LocalServers> {
  const redis = await startRedis();
  const fauxqs = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  const region = "us-east-1";
  const clients: SQSClient[] = [];
  return {
    redisUrl: redis.url,
    awsEndpoint: fauxqs.address,
    region,
    fauxqs,
    sqs: () => {
      const client = new SQSClient({
        region,
        endpoint: fauxqs.address,
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        useQueueUrlAsEndpoint: false,
      });
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.destroy();
      await fauxqs.stop();
      await redis.stop();
    },
  };
}

/** A fresh, uniquely named queue with its DLQ (redrive after maxReceiveCount receives). */
export function createQueuePair(
  servers: LocalServers,
  name: string,
  { maxReceiveCount = 5, visibilityTimeoutSeconds = 5 } = {},
): { queueUrl: string; dlqUrl: string; queueName: string } {
  const base = `${name}-${randomUUID().slice(0, 8)}`;
  const dlq = servers.fauxqs.createQueue(`${base}-dlq`);
  const queue = servers.fauxqs.createQueue(base, {
    attributes: {
      VisibilityTimeout: String(visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.queueArn,
        maxReceiveCount: String(maxReceiveCount),
      }),
    },
  });
  return { queueUrl: queue.queueUrl, dlqUrl: dlq.queueUrl, queueName: base };
}
