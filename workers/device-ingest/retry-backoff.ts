// Backoff between retries of a failed dependency: doubling, jittered, never shorter than what the service asked.
import { setTimeout as delay } from "node:timers/promises";
import { backoffDelay } from "../../shared/backoff.ts";

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * The pause before retry `attempt` (1-based): base × 2^(attempt-1) capped at max, jittered down by up to 20% so
 * replicas do not retry in lockstep; a Retry-After from the service is honoured even above max.
 */
export function backoffMs(
  policy: BackoffPolicy,
  attempt: number,
  retryAfterMs?: number,
  random = Math.random,
): number {
  const jittered = Math.round(
    backoffDelay({ base: policy.baseMs, max: policy.maxMs, jitter: [1, 0.8] }, attempt, random),
  );
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** Raised when a retry loop is given up because the partition was closed or the drain budget ran out. */
export class RetryAbandonedError extends Error {
  override readonly name = "RetryAbandonedError";
}

/** Waits, unless `signal` aborts first (then throws RetryAbandonedError). */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw new RetryAbandonedError("given up: the partition is closing");
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new RetryAbandonedError("given up: the partition is closing");
  }
}
