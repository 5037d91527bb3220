// `eventfleet api`: the order API on API_PORT, with the outbox relay in the same process unless --relay=off.
import type { AddressInfo } from "node:net";
import type { ConfigOf } from "../shared/config.ts";
import { connectRedis } from "../shared/redis-connection.ts";
import { resolveRedisTarget } from "../shared/redis-target.ts";
import { resolveWriteAck } from "../shared/redis-write-ack.ts";
import { runRole, type RoleContext, type RunningRole } from "../shared/role-process.ts";
import { createApiOrderStore } from "./api-order-store.ts";
import { createApp } from "./app.ts";
import { createAuthenticator } from "./auth.ts";
import { apiEnv, relayEnv } from "./config.ts";
import { createHttpServer, httpServerOptions } from "./http-server.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { startRelay, type StartedRelay } from "./relay-main.ts";

// With the relay inside, a missing topic ARN is most often an API started without knowing about --relay=off.
const apiWithRelayEnv = {
  ...apiEnv,
  ...relayEnv,
  ORDERS_TOPIC_ARN: {
    ...relayEnv.ORDERS_TOPIC_ARN,
    expects:
      `${relayEnv.ORDERS_TOPIC_ARN.expects}, for the outbox relay this process runs ` +
      "(or start the API with --relay=off and run `eventfleet relay` where ORDERS_TOPIC_ARN is set)",
  },
};

async function startApi(
  context: RoleContext<typeof apiEnv>,
  relayConfig: ConfigOf<typeof relayEnv> | undefined,
): Promise<RunningRole> {
  const { config, logger, registry, management } = context;
  const serverOptions = httpServerOptions(config);
  const authenticator = createAuthenticator({
    mode: config.AUTH_MODE,
    apiKeys: config.API_KEYS,
    apiKeysFile: config.API_KEYS_FILE,
    jwt: {
      jwksUrl: config.JWT_JWKS_URL,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      scopeClaim: config.JWT_SCOPE_CLAIM,
      subjectClaim: config.JWT_SUBJECT_CLAIM,
    },
  });
  // Orders and cancels are answered 2xx only once REDIS_WRITE_REPLICAS replicas have them (WAIT); checked first.
  const writeAck = resolveWriteAck(config, resolveRedisTarget(config));
  const redis = connectRedis(config, logger, { name: "eventfleet-api", profile: "request" });
  const orders = createApiOrderStore(redis, { env: config.EVENTFLEET_ENV, writeAck });
  const { store } = orders;
  const rateLimiter = new RateLimiter(redis, {
    env: config.EVENTFLEET_ENV,
    perSecond: config.RATE_LIMIT_PER_SECOND,
    burst: config.RATE_LIMIT_BURST,
  });
  const app = createApp({
    store,
    authenticator,
    rateLimiter,
    logger,
    registry,
    idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    trustProxy: config.TRUST_PROXY,
  });
  management.addCheck({ name: "redis", check: () => redis.health.check() });
  // The in-process relay starts alongside (its own connections' round trips overlap the API's): the role is started,
  // and /readyz can pass, once both are.
  const relayStarting = relayConfig
    ? startRelay(
        { ...relayConfig, EVENTFLEET_ENV: config.EVENTFLEET_ENV },
        { logger, registry, management, alongside: "api" },
      )
    : Promise.resolve(undefined);
  void relayStarting.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection first
  try {
    // A REDIS_URL naming a database this Redis lacks stops the process (exit 2) before it takes requests.
    await redis.health.verifyDatabase();
  } catch (error) {
    await (await relayStarting.catch(() => undefined))?.stop();
    throw error;
  }

  const server = createHttpServer(app, serverOptions, { logger, registry });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.API_PORT, "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  logger.info(
    {
      port: (server.address() as AddressInfo).port,
      authMode: config.AUTH_MODE,
      relay: Boolean(relayConfig),
      writeReplicas: writeAck.replicas,
    },
    "order API listening",
  );

  const relay: StartedRelay | undefined = await relayStarting;

  return {
    stop: async () => {
      // Stop taking requests, let in-flight ones finish, then stop the relay (unpublished entries stay pending).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await relay?.stop();
      await orders.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export async function main(options: { relay: boolean } = { relay: true }): Promise<void> {
  if (options.relay) {
    await runRole({
      role: "api",
      env: apiWithRelayEnv,
      start: (context) => startApi(context, context.config),
    });
  } else {
    await runRole({ role: "api", env: apiEnv, start: (context) => startApi(context, undefined) });
  }
}
