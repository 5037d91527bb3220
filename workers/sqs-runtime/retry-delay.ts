// How long a message that failed with a retryable error stays invisible before its next attempt.
import { backoffDelay } from "../../shared/backoff.ts";

export interface RetryDelayOptions {
  retryBaseSeconds: number;
  retryMaxSeconds: number;
}

/**
 * Exponential backoff by receive count (1 → base, 2 → 2×base, …, capped), with ±20 % jitter so that a
 * batch that failed together does not come back together. A dependency's own Retry-After wins when longer.
 * Whole seconds: ChangeMessageVisibility takes nothing finer.
 */
export function retryDelaySeconds(
  attempt: number,
  options: RetryDelayOptions,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const jittered = backoffDelay(
    { base: options.retryBaseSeconds, max: options.retryMaxSeconds, jitter: [0.8, 1.2] },
    attempt,
    random,
  );
  const asked = retryAfterMs !== undefined ? retryAfterMs / 1000 : 0;
  return Math.min(options.retryMaxSeconds, Math.max(0, Math.round(Math.max(jittered, asked))));
}
