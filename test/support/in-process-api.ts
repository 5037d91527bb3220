// The order API in-process on 127.0.0.1:<free port>, against a given Redis, for HTTP-level tests.
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { after, before } from "node:test";
import type { RedisClient } from "../../shared/redis-connection.ts";
import { Registry } from "prom-client";
import { createLogger, type Logger } from "../../shared/logger.ts";
import type { OrderStore } from "../../shared/orders/order-store.ts";
import { parseEnv, redisEnv, redisWriteEnv } from "../../shared/config.ts";
import { resolveWriteAck } from "../../shared/redis-write-ack.ts";
import { createApiOrderStore } from "../../api/api-order-store.ts";
import { createApp } from "../../api/app.ts";
import { apiServerEnv } from "../../api/config.ts";
import { createHttpServer, httpServerOptions, type HttpServerOptions } from "../../api/http-server.ts";
import { createAuthenticator, type AuthOptions } from "../../api/auth.ts";
import { RateLimiter } from "../../api/rate-limiter.ts";
import { connectRedis } from "../../shared/redis-connection.ts";
import { startLocalRedis, type LocalRedis } from "./local-redis.ts";

export interface InProcessApi {
  url: string;
  env: string;
  redis: RedisClient;
  store: OrderStore;
  registry: Registry;
  close(): Promise<void>;
}

export interface InProcessApiOptions {
  redisUrl?: string;
  /**
   * The Redis variables as a role gets them (REDIS_URL, REDIS_CLUSTER_NODES, REDIS_WRITE_REPLICAS, …), instead of
   * `redisUrl`: a cluster, or write acknowledgement other than the default.
   */
  redisVariables?: Record<string, string>;
  auth?: AuthOptions;
  rateLimit?: { perSecond: number; burst: number };
  trustProxy?: string;
  /** Server limits; unset ones take the defaults of API_HEADERS_TIMEOUT_MS etc. */
  server?: Partial<HttpServerOptions>;
  /** Where the API logs; default: a silent logger (TEST_LOG_LEVEL to see it). */
  logger?: Logger;
}

export async function startInProcessApi(options: InProcessApiOptions): Promise<InProcessApi> {
  const env = `t${randomUUID().slice(0, 8)}`;
  const logger =
    options.logger ??
    createLogger({
      role: "api-test",
      level: process.env.TEST_LOG_LEVEL ?? "silent",
      pretty: false,
    });
  const variables = options.redisVariables ?? { REDIS_URL: options.redisUrl ?? "" };
  const config = parseEnv({ ...redisEnv, ...redisWriteEnv }, variables);
  const redis = connectRedis(config, logger, { name: "api-test", profile: "request" });
  await new Promise<void>((resolve) =>
    redis.status === "ready" ? resolve() : redis.once("ready", () => resolve()),
  );
  // As api/main.ts does: orders and cancels wait for REDIS_WRITE_REPLICAS replicas (default: 1 on a cluster).
  const orders = createApiOrderStore(redis, { env, writeAck: resolveWriteAck(config, redis.target) });
  const { store } = orders;
  const registry = new Registry();
  const app = createApp({
    store,
    authenticator: createAuthenticator(options.auth ?? { mode: "none" }),
    rateLimiter: new RateLimiter(redis, { env, ...(options.rateLimit ?? { perSecond: 0, burst: 1 }) }),
    logger,
    registry,
    idempotencyTtlSeconds: 86_400,
    trustProxy: options.trustProxy,
  });
  const server = createHttpServer(
    app,
    { ...httpServerOptions(parseEnv(apiServerEnv, {})), ...options.server },
    { logger, registry },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
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
      await orders.close();
      redis.disconnect();
    },
  };
}

/**
 * For a describe block: starts a local Redis and the API before its tests and stops both after them. The returned
 * object stands for the started API (its properties read through), so tests use it like startInProcessApi's.
 */
export function withInProcessApi(options: Omit<InProcessApiOptions, "redisUrl"> = {}): InProcessApi {
  let redis: LocalRedis | undefined;
  let started: InProcessApi | undefined;
  before(async () => {
    redis = await startLocalRedis();
    started = await startInProcessApi({ ...options, redisUrl: redis.url });
  });
  after(async () => {
    await started?.close();
    await redis?.stop();
  });
  const current = (): InProcessApi => {
    if (!started) throw new Error("withInProcessApi: the API starts in the describe block's before hook");
    return started;
  };
  return {
    get url() {
      return current().url;
    },
    get env() {
      return current().env;
    },
    get redis() {
      return current().redis;
    },
    get store() {
      return current().store;
    },
    get registry() {
      return current().registry;
    },
    close: () => current().close(),
  };
}
