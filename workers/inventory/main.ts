// `eventfleet worker inventory`: reserves stock for placed orders and releases it for cancelled ones.
import { runRole } from "../../shared/role-process.ts";
import { FILTERS } from "../../shared/topology/topology.ts";
import { SagaSteps } from "../../shared/orders/saga-steps.ts";
import { sqsWorkerEnv, startOrderWorker, workerQueueEnv } from "../sqs-runtime/sqs-worker-role.ts";
import { createInventoryHandler } from "./inventory-handler.ts";

export const inventoryEnv = { ...sqsWorkerEnv, ...workerQueueEnv("inventory") };

export function main(): Promise<void> {
  return runRole({
    role: "inventory",
    env: inventoryEnv,
    start: (context) =>
      startOrderWorker(context, {
        worker: "inventory",
        accepts: FILTERS.inventory,
        queueUrl: context.config.INVENTORY_QUEUE_URL,
        deadLetterQueueUrl: context.config.INVENTORY_DLQ_URL,
        createHandler: ({ store, redis }) => ({
          handle: createInventoryHandler({
            store,
            steps: new SagaSteps(redis, { env: context.config.EVENTFLEET_ENV }),
          }),
        }),
      }),
  });
}
