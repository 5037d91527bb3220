// The order API in-process on 127.0.0.1:<free port>, against a given Redis, for HTTP-level tests.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { Registry } from "prom-client";
import { createLogger } from "../../shared/logger.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { createApp } from "../app.ts";
import { createAuthenticator, type AuthOptions } from "../auth.ts";
import { RateLimiter } from "../rate-limiter.ts";
import { connectRedis } from "../redis-connection.ts";

export interface InProcessApi {
  url: string;
  env: string;
  redis: Redis;
  store: OrderStore;
  registry: Registry;
  close(): Promise<void>;
}

export interface InProcessApiOptions {
  redisUrl: string;
  auth?: AuthOptions;
  rateLimit?: { perSecond: number; burst: number };
}

export async function startInProcessApi(options: InProcessApiOptions): Promise<InProcessApi> {
  const env = `t${randomUUID().slice(0, 8)}`;
  const logger = createLogger({
    role: "api-test",
    level: process.env.TEST_LOG_LEVEL ?? "silent",
    pretty: false,
  });
  const redis = connectRedis(options.redisUrl, logger, "api-test");
  await new Promise<void>((resolve) =>
    redis.status === "ready" ? resolve() : redis.once("ready", () => resolve()),
  );
  const store = new OrderStore(redis, { env });
  const registry = new Registry();
  const app = createApp({
    store,
    authenticator: createAuthenticator(options.auth ?? { mode: "none" }),
    rateLimiter: new RateLimiter(redis, { env, ...(options.rateLimit ?? { perSecond: 0, burst: 1 }) }),
    logger,
    registry,
    idempotencyTtlSeconds: 86_400,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    env,
    redis,
    store,
    registry,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
