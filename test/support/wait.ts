// Waiting for a condition with a deadline: the only way tests here wait (never a fixed sleep).
import { setTimeout as delay } from "node:timers/promises";

export interface WaitOptions {
  /** How long to keep trying before failing, in ms. */
  timeoutMs?: number;
  /** Pause between attempts, in ms. */
  intervalMs?: number;
  /** Names the condition in the failure message. */
  description?: string;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false` (or stops throwing), and
 * returns that value; fails with the description and the last error once the deadline passes.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 50, description = "condition" }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${cause}`, {
        cause: lastError,
      });
    }
    await delay(intervalMs);
  }
}
