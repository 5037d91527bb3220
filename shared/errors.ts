// Failure kinds that decide what happens to a message: retry it later, or never (dead-letter it).

/** Retrying cannot help (bad input, a rejected request): the message goes to the dead-letter queue. */
export class PermanentError extends Error {
  override readonly name: string = "PermanentError";
  /** A short machine-readable reason (a metric label and a DLQ attribute), e.g. `schema_invalid`. */
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** A dependency failed in a way that may pass (timeout, 5xx, throttling): try again later. */
export class RetryableError extends Error {
  override readonly name: string = "RetryableError";
  /** When the dependency asked to wait (Retry-After, x-ms-retry-after-ms), in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
