// An order's history: one JSON entry per stage, oldest first, each stamped with the order's version by the script.
import type { OrderStatus } from "../events/order-events.ts";

/** One line of an order's history: what happened, when, and the order's version after it. */
export interface OrderHistoryEntry {
  /** The status the order moved to, or a stage without a status change such as `NOTIFIED`. */
  stage: string;
  /** ISO 8601 time of the stage. */
  at: string;
  /** Set on entries written by a status change. */
  status?: OrderStatus;
  /** The order's version after this entry (stamped in by the store). */
  version: number;
  /** The CloudEvent that caused or announced this stage, when there is one. */
  eventId?: string;
  /** Small, non-secret facts about the stage (carrier, missing SKUs, webhook status, reason...). */
  detail?: Record<string, unknown>;
}

/** What a caller gives for a history entry; `at` defaults to now, `version` is stamped in by the store. */
export interface HistoryInput {
  stage?: string;
  at?: Date | string;
  eventId?: string;
  detail?: Record<string, unknown>;
}

/**
 * The JSON of a history entry. Without `version`, the script appends it as the last field (lua/stamp.lua), so
 * the object is never empty and the version is the one the script wrote.
 */
export function historyEntryJson(
  input: HistoryInput,
  fallbackStage: string,
  status?: OrderStatus,
  version?: number,
): string {
  const at = input.at instanceof Date ? input.at.toISOString() : (input.at ?? new Date().toISOString());
  return JSON.stringify({
    stage: input.stage ?? fallbackStage,
    at,
    ...(status ? { status } : {}),
    ...(input.eventId ? { eventId: input.eventId } : {}),
    ...(input.detail ? { detail: input.detail } : {}),
    ...(version !== undefined ? { version } : {}),
  });
}
