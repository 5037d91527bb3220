// `eventfleet relay`: the outbox relay alone (scaled apart from the API).
import type { ConfigOf } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import type { ManagementServer } from "../shared/management-server.ts";
import { connectRedis } from "../shared/redis-connection.ts";
import { runRole } from "../shared/role-process.ts";
import type { Registry } from "prom-client";
import { relayEnv } from "./config.ts";
import { OutboxRelay, RELAY_SNS_TUNING } from "./outbox-relay.ts";
import { createSnsClient } from "../shared/aws-clients.ts";

export interface StartedRelay {
  stop(): Promise<void>;
}

/**
 * Builds and starts a relay with its own Redis and SNS clients. Alone (`eventfleet relay`) its stall and its Redis
 * are its readiness. Inside the API (`alongside: "api"`) they are not: the API takes orders into the outbox whatever
 * SNS does, and failing its readiness would take every API pod out of service during an SNS outage. A stalled relay
 * shows there in `eventfleet_relay_stalled` and the EventfleetOutboxRelayStalled alert instead.
 */
export async function startRelay(
  config: ConfigOf<typeof relayEnv> & { EVENTFLEET_ENV: string },
  context: { logger: Logger; registry: Registry; management: ManagementServer; alongside?: "api" },
): Promise<StartedRelay> {
  const redis = connectRedis(config, context.logger, { name: "eventfleet-relay", profile: "request" });
  const sns = createSnsClient(
    { AWS_REGION: config.AWS_REGION, AWS_ENDPOINT_URL: config.AWS_ENDPOINT_URL },
    RELAY_SNS_TUNING,
  );
  const relay = new OutboxRelay({
    redis,
    sns,
    topicArn: config.ORDERS_TOPIC_ARN,
    env: config.EVENTFLEET_ENV,
    logger: context.logger,
    registry: context.registry,
    batchSize: config.RELAY_BATCH_SIZE,
    claimIdleMs: config.RELAY_CLAIM_IDLE_MS,
    stallAfterMs: config.RELAY_STALL_AFTER_MS,
  });
  try {
    // A REDIS_URL naming a database this Redis lacks stops the process (exit 2) before the relay reads anything.
    await redis.health.verifyDatabase();
  } catch (error) {
    sns.destroy();
    redis.disconnect();
    throw error;
  }
  relay.start();
  if (context.alongside !== "api") {
    for (const check of relay.readinessChecks()) context.management.addCheck(check);
    context.management.addCheck({ name: "relay-redis", check: () => redis.health.check() });
  }
  return {
    stop: async () => {
      await relay.stop();
      sns.destroy();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export async function main(): Promise<void> {
  await runRole({
    role: "relay",
    env: relayEnv,
    start: ({ config, logger, registry, management }) => startRelay(config, { logger, registry, management }),
  });
}
