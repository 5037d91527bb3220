// The Cosmos documents made from device events: one per event in `telemetry`, one per device in `devices`.
import type { DeviceEvent } from "../../shared/events/device-event.ts";
import type { EventPosition } from "./event-decoding.ts";

/** A document of container `telemetry` (partition key /deviceId). Its id makes redelivery an overwrite. */
export interface TelemetryDocument {
  id: string;
  deviceId: string;
  eventId?: string;
  type: DeviceEvent["type"];
  ts: string;
  payload: Record<string, unknown>;
  partitionId: string;
  sequenceNumber: number;
  enqueuedTime: string;
  [key: string]: unknown;
}

/** A document of container `devices` (id = partition key = deviceId): the newest event seen for the device. */
export interface DeviceStateDocument {
  id: string;
  deviceId: string;
  /** The newest event's `ts`, and as epoch ms for comparing (ISO strings with offsets do not sort). */
  lastTs: string;
  lastTsMs: number;
  lastType: DeviceEvent["type"];
  lastEventDocumentId: string;
  payload: Record<string, unknown>;
  updatedAt: string;
  [key: string]: unknown;
}

export function telemetryDocument(
  event: DeviceEvent,
  documentId: string,
  position: EventPosition,
): TelemetryDocument {
  return {
    id: documentId,
    deviceId: event.deviceId,
    ...(event.eventId !== undefined ? { eventId: event.eventId } : {}),
    type: event.type,
    ts: event.ts,
    payload: event.payload,
    partitionId: position.partitionId,
    sequenceNumber: position.sequenceNumber,
    enqueuedTime: position.enqueuedTime.toISOString(),
  };
}

export function deviceStateDocument(event: DeviceEvent, documentId: string, now: Date): DeviceStateDocument {
  return {
    id: event.deviceId,
    deviceId: event.deviceId,
    lastTs: event.ts,
    lastTsMs: Date.parse(event.ts),
    lastType: event.type,
    lastEventDocumentId: documentId,
    payload: event.payload,
    updatedAt: now.toISOString(),
  };
}

/**
 * Whether `candidate` should replace `current`: strictly newer by device time; on a tie the larger document id
 * wins, so every replica and every redelivery order settles on the same state.
 */
export function isNewerState(
  candidate: Pick<DeviceStateDocument, "lastTsMs" | "lastEventDocumentId">,
  current: Pick<DeviceStateDocument, "lastTsMs" | "lastEventDocumentId"> | undefined,
): boolean {
  if (!current) return true;
  if (candidate.lastTsMs !== current.lastTsMs) return candidate.lastTsMs > current.lastTsMs;
  return candidate.lastEventDocumentId > current.lastEventDocumentId;
}

/** The newest state per device among a batch's events (one conditional write per device instead of one per event). */
export function newestPerDevice(states: DeviceStateDocument[]): DeviceStateDocument[] {
  const newest = new Map<string, DeviceStateDocument>();
  for (const state of states) {
    if (isNewerState(state, newest.get(state.deviceId))) newest.set(state.deviceId, state);
  }
  return [...newest.values()];
}
