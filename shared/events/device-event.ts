// The device event: the JSON body devices send to Event Hubs (partition key = deviceId).
import { z } from "zod";

export const DEVICE_EVENT_TYPES = ["telemetry", "status", "alert"] as const;

export const deviceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)
  .describe("Device id: letters, digits, '.', '_', ':', '-'; 1-128 characters");

export const deviceEvent = z.strictObject({
  deviceId,
  eventId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .describe("Producer-assigned id; makes redelivery idempotent across partitions"),
  type: z.enum(DEVICE_EVENT_TYPES),
  ts: z.iso.datetime({ offset: true }).describe("When the device measured it (ISO 8601)"),
  payload: z.record(z.string(), z.unknown()),
});

export type DeviceEvent = z.infer<typeof deviceEvent>;

/**
 * The Cosmos document id of a device event: `<deviceId>:<eventId>`, or without an eventId one derived from where
 * the event sits in the hub, so a redelivered event overwrites itself instead of duplicating.
 */
export function deviceDocumentId(event: DeviceEvent, partitionId: string, sequenceNumber: number): string {
  return event.eventId !== undefined
    ? `${event.deviceId}:${event.eventId}`
    : `${event.deviceId}:p${partitionId}-s${sequenceNumber}`;
}
