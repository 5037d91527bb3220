// `eventfleet worker shipment`: ships orders whose stock is reserved, unless they were cancelled first.
import { runRole } from "../../shared/role-process.ts";
import { StockReservations } from "../inventory/stock-reservations.ts";
import { sqsWorkerEnv, startOrderWorker, workerQueueEnv } from "../sqs-runtime/sqs-worker-role.ts";
import { SHIPMENT_EVENTS, createShipmentHandler } from "./shipment-handler.ts";
import { Shipments } from "./shipments.ts";

export const shipmentEnv = { ...sqsWorkerEnv, ...workerQueueEnv("shipment") };

export function main(): Promise<void> {
  return runRole({
    role: "shipment",
    env: shipmentEnv,
    start: (context) =>
      startOrderWorker(context, {
        worker: "shipment",
        accepts: SHIPMENT_EVENTS,
        queueUrl: context.config.SHIPMENT_QUEUE_URL,
        deadLetterQueueUrl: context.config.SHIPMENT_DLQ_URL,
        createHandler: ({ store, redis }) => ({
          handle: createShipmentHandler({
            store,
            shipments: new Shipments(redis, { env: context.config.EVENTFLEET_ENV }),
            reservations: new StockReservations(redis, { env: context.config.EVENTFLEET_ENV }),
          }),
        }),
      }),
  });
}
