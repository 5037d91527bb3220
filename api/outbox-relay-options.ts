// Every tunable of the outbox relay in one place: its default and why (RELAY_* variables in api/config.ts use these).

export interface OutboxRelayTuning {
  /** Entries per PublishBatch (SNS allows at most 10). Default 10. */
  batchSize: number;
  /**
   * PublishBatch calls in flight at once. One call costs an SNS round trip, so a single call at a time caps a
   * relay at ~batchSize per round trip; a few in parallel keep up with a busy API. Default 4.
   */
  batchesInFlight: number;
  /** How long one XREADGROUP waits for new entries; bounds how quickly stop() returns. Default 1000 ms. */
  blockMs: number;
  /** Pending this long on another relay → taken over (that relay is presumed dead). Default 30 000 ms. */
  claimIdleMs: number;
  /** How often to trim acknowledged entries off the stream. Default 5000 ms. */
  trimIntervalMs: number;
  /** First pause after a failed publish or Redis error (doubling up to backoffMaxMs). Default 200 ms. */
  backoffInitialMs: number;
  /** Longest pause between retries. Default 5000 ms: SNS back within seconds is noticed within seconds. */
  backoffMaxMs: number;
  /**
   * The loop not going round, or an outbox with entries that has not moved (nothing published, nothing left to
   * publish) for this long, makes the relay stalled (`eventfleet_relay_stalled`, readiness of a relay alone).
   * Default 30 000 ms: longer than SNS's request timeout plus a backoff, so one slow call is not a stall.
   */
  stallAfterMs: number;
}

export const OUTBOX_RELAY_DEFAULTS: OutboxRelayTuning = {
  batchSize: 10,
  batchesInFlight: 4,
  blockMs: 1000,
  claimIdleMs: 30_000,
  trimIntervalMs: 5000,
  backoffInitialMs: 200,
  backoffMaxMs: 5000,
  stallAfterMs: 30_000,
};
