// The composition root shared by the SQS worker roles: config → Redis, SQS, order store → runtime with a handler.
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { createSqsClient } from "../../shared/aws-clients.ts";
import {
  awsEnv,
  envVar,
  queueUrlVar,
  redisEnv,
  schemas,
  type ConfigOf,
  type EnvSpec,
} from "../../shared/config.ts";
import { orderEvent, type OrderEvent, type OrderEventType } from "../../shared/events/order-events.ts";
import type { Logger } from "../../shared/logger.ts";
import { OrderStore } from "../../shared/orders/order-store.ts";
import { connectRedis, type RedisClient } from "../../shared/redis-connection.ts";
import type { RoleContext, RunningRole } from "../../shared/role-process.ts";
import { describeSdkError } from "../../shared/aws-errors.ts";
import { workerQueueVariables } from "../../shared/topology/topology.ts";
import { SqsWorker, type EventHandler } from "./sqs-worker.ts";

/** Variables every SQS worker reads (besides its queue URLs), each with its default and why. */
export const sqsWorkerEnv = {
  ...redisEnv,
  ...awsEnv,
  WORKER_CONCURRENCY: envVar(z.coerce.number().int().min(1).max(100), {
    expects: "an integer 1-100",
    description:
      "SQS pollers per process; each receives batches of 10 handled in parallel. 2 keeps one poll open while a batch is handled.",
    default: "2",
  }),
  WORKER_MAX_IN_FLIGHT: envVar(schemas.positiveInt.optional(), {
    expects: "a positive integer",
    description:
      "Handlers running at once per process (default WORKER_CONCURRENCY × 10, a whole batch in parallel).",
  }),
  WORKER_VISIBILITY_TIMEOUT_SECONDS: envVar(z.coerce.number().int().min(1).max(43_200).optional(), {
    expects: "an integer number of seconds 1-43200",
    description:
      "Visibility timeout of received messages, extended by a heartbeat while a handler runs (default: the queue's own).",
  }),
  WORKER_RETRY_BASE_SECONDS: envVar(schemas.nonNegativeInt, {
    expects: "a non-negative integer number of seconds",
    description: "First retry delay after a retryable failure; doubles per receive.",
    default: "1",
  }),
  WORKER_RETRY_MAX_SECONDS: envVar(z.coerce.number().int().min(0).max(43_200), {
    expects: "an integer number of seconds 0-43200",
    description: "Longest retry delay (SQS's maxReceiveCount bounds the number of attempts).",
    default: "300",
  }),
} satisfies EnvSpec;

/** A worker's own queue variables (named by workerQueueVariables: `<NAME>_QUEUE_URL`, `<NAME>_DLQ_URL`). */
export function workerQueueEnv<N extends string>(name: N) {
  const { queueUrl, dlqUrl } = workerQueueVariables(name);
  return {
    [queueUrl]: queueUrlVar(`${name} worker's SQS queue`),
    [dlqUrl]: queueUrlVar(`${name} worker's dead-letter queue`),
  } as Record<typeof queueUrl | typeof dlqUrl, ReturnType<typeof queueUrlVar>>;
}

export type SqsWorkerConfig = ConfigOf<typeof sqsWorkerEnv> & {
  EVENTFLEET_ENV: string;
  SHUTDOWN_TIMEOUT_MS: number;
};

/** What a worker module gives the shared role: its handler, built from the clients. */
export interface OrderWorkerDefinition {
  worker: string;
  accepts: readonly OrderEventType[];
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** Builds the handler; `close` (optional) runs after the runtime stopped. */
  createHandler(deps: { store: OrderStore; redis: RedisClient; logger: Logger }): {
    handle: EventHandler<OrderEvent>;
    close?: () => Promise<void>;
  };
}

async function queueVisibilityTimeout(sqs: SQSClient, queueUrl: string, logger: Logger): Promise<number> {
  try {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    const seconds = Number(Attributes?.VisibilityTimeout);
    return Number.isInteger(seconds) && seconds >= 1 ? seconds : 30;
  } catch (error) {
    logger.warn({ err: error }, describeSdkError(error, "GetQueueAttributes (visibility timeout)"));
    return 30;
  }
}

/** Starts one SQS worker in a role process: readiness checks registered, stop() drains and closes clients. */
export async function startOrderWorker(
  context: RoleContext<EnvSpec> & { config: SqsWorkerConfig },
  definition: OrderWorkerDefinition,
): Promise<RunningRole> {
  const { config, logger, registry, management } = context;
  // Logs an outage once with its cause (then a reminder a minute at most), instead of a stack per reconnect; the
  // handlers of a batch run together, so their marker checks and writes share round trips (autopipelining).
  const redis = connectRedis(config, logger, { name: `eventfleet-${definition.worker}`, profile: "worker" });
  management.addCheck({ name: "redis-connection", check: () => redis.health.check() });
  const sqs = createSqsClient(config);
  // Asked while Redis connects: the two round trips overlap (a fresh pod's start-to-ready; it never rejects).
  const visibilityQuery =
    config.WORKER_VISIBILITY_TIMEOUT_SECONDS ?? queueVisibilityTimeout(sqs, definition.queueUrl, logger);
  try {
    // A REDIS_URL naming a database this Redis lacks stops the process (exit 2) before it takes a message.
    await redis.health.verifyDatabase();
  } catch (error) {
    await visibilityQuery;
    sqs.destroy();
    redis.disconnect();
    throw error;
  }
  const store = new OrderStore(redis, { env: config.EVENTFLEET_ENV });
  const handler = definition.createHandler({ store, redis, logger });
  const visibility = await visibilityQuery;
  const runtime = new SqsWorker<OrderEvent>(
    {
      sqs,
      redis,
      logger,
      registry,
      env: config.EVENTFLEET_ENV,
      schema: orderEvent,
      accepts: definition.accepts,
      handle: handler.handle,
    },
    {
      worker: definition.worker,
      queueUrl: definition.queueUrl,
      deadLetterQueueUrl: definition.deadLetterQueueUrl,
      concurrency: config.WORKER_CONCURRENCY,
      ...(config.WORKER_MAX_IN_FLIGHT ? { maxInFlight: config.WORKER_MAX_IN_FLIGHT } : {}),
      visibilityTimeoutSeconds: visibility,
      retryBaseSeconds: config.WORKER_RETRY_BASE_SECONDS,
      retryMaxSeconds: Math.max(config.WORKER_RETRY_BASE_SECONDS, config.WORKER_RETRY_MAX_SECONDS),
      // Leave a second of the shutdown budget to release, close clients and exit 0.
      drainTimeoutMs: Math.max(0, config.SHUTDOWN_TIMEOUT_MS - 1500),
    },
  );
  for (const check of runtime.readinessChecks()) management.addCheck(check);
  runtime.start();
  return {
    stop: async () => {
      await runtime.stop();
      await handler.close?.();
      sqs.destroy();
      redis.disconnect();
    },
  };
}
