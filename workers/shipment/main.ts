// `eventfleet worker shipment`: ships orders whose stock is reserved, unless they were cancelled first.
import { runRole } from "../../shared/role-process.ts";
import { FILTERS } from "../../shared/topology/topology.ts";
import { SagaSteps } from "../../shared/orders/saga-steps.ts";
import { sqsWorkerEnv, startOrderWorker, workerQueueEnv } from "../sqs-runtime/sqs-worker-role.ts";
import { createShipmentHandler } from "./shipment-handler.ts";

export const shipmentEnv = { ...sqsWorkerEnv, ...workerQueueEnv("shipment") };

export function main(): Promise<void> {
  return runRole({
    role: "shipment",
    env: shipmentEnv,
    start: (context) =>
      startOrderWorker(context, {
        worker: "shipment",
        accepts: FILTERS.shipment,
        queueUrl: context.config.SHIPMENT_QUEUE_URL,
        deadLetterQueueUrl: context.config.SHIPMENT_DLQ_URL,
        createHandler: ({ store, redis }) => ({
          handle: createShipmentHandler({
            store,
            steps: new SagaSteps(redis, { env: context.config.EVENTFLEET_ENV }),
          }),
        }),
      }),
  });
}
