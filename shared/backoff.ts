// Exponential backoff with jitter: the one formula of every retry loop (SQS redelivery delays, receive errors,
// the outbox relay, Event Hubs dependencies). Unit-free: milliseconds or seconds, as the caller's policy is.

export interface BackoffPolicy {
  /** The pause before the first retry. */
  base: number;
  /** No pause is longer (before jitter). */
  max: number;
  /**
   * The pause is multiplied by a factor between `from` and `to` (random() = 0 gives `from`, 1 gives `to`), so
   * that replicas or a batch that failed together do not retry in lockstep. Default [1, 1]: no jitter.
   */
  jitter?: readonly [from: number, to: number];
}

/** The pause before retry `attempt` (1-based): base × 2^(attempt-1), capped at max, times the jitter factor. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const capped = Math.min(policy.max, policy.base * 2 ** exponent);
  const [from, to] = policy.jitter ?? [1, 1];
  return capped * (from + (to - from) * random());
}
