// `eventfleet worker notification`: signed webhook notifications to customers (or logs, without a webhook).
import { z } from "zod";
import { ConfigError, envVar, schemas } from "../../shared/config.ts";
import { runRole } from "../../shared/role-process.ts";
import { FILTERS } from "../../shared/topology/topology.ts";
import { sqsWorkerEnv, startOrderWorker, workerQueueEnv } from "../sqs-runtime/sqs-worker-role.ts";
import { createNotificationHandler } from "./notification-handler.ts";
import { DeliveryLease } from "./delivery-lease.ts";
import { WebhookClient } from "./webhook-client.ts";

export const notificationEnv = {
  ...sqsWorkerEnv,
  ...workerQueueEnv("notification"),
  NOTIFY_WEBHOOK_URL: envVar(schemas.url().optional(), {
    expects: "an http(s) URL that accepts POSTed JSON",
    description: "Where notifications are POSTed (HMAC-signed); unset: notifications are only logged.",
  }),
  NOTIFY_WEBHOOK_SECRET: envVar(z.string().min(16).optional(), {
    expects: "a shared secret of at least 16 characters",
    description: "HMAC-SHA256 key of the x-eventfleet-signature header; required with NOTIFY_WEBHOOK_URL.",
    secret: true,
  }),
  NOTIFY_WEBHOOK_TIMEOUT_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description: "Per-request timeout of the webhook; a timeout is retried with backoff.",
    default: "5000",
  }),
};

export function main(): Promise<void> {
  return runRole({
    role: "notification",
    env: notificationEnv,
    start: (context) => {
      const { NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: secret } = context.config;
      if (url && !secret) {
        throw new ConfigError(
          "NOTIFY_WEBHOOK_SECRET",
          "NOTIFY_WEBHOOK_SECRET: got nothing (unset), expected a shared secret of at least 16 characters (set it: NOTIFY_WEBHOOK_URL is set)",
        );
      }
      const webhook =
        url && secret
          ? new WebhookClient({ url, secret, timeoutMs: context.config.NOTIFY_WEBHOOK_TIMEOUT_MS })
          : undefined;
      return startOrderWorker(context, {
        worker: "notification",
        accepts: FILTERS.notification,
        queueUrl: context.config.NOTIFICATION_QUEUE_URL,
        deadLetterQueueUrl: context.config.NOTIFICATION_DLQ_URL,
        createHandler: ({ store, redis }) => ({
          handle: createNotificationHandler({
            store,
            webhook,
            // Outlasts one delivery (the webhook's timeout, then the history write), and no longer: after a
            // crash, the redelivered copy waits this long at most.
            lease: new DeliveryLease(redis, {
              env: context.config.EVENTFLEET_ENV,
              ttlMs: context.config.NOTIFY_WEBHOOK_TIMEOUT_MS + 5000,
            }),
          }),
        }),
      });
    },
  });
}
