// The one place that decides what a Cosmos DB or Storage error means: retry later, or the event itself is at fault.

/** A failed operation, normalised from whatever the SDK threw or returned. */
export interface OperationFailure {
  /** HTTP status when there was an answer; undefined for connection errors. */
  status: number | undefined;
  /** SDK or socket code such as ECONNREFUSED, when there was no answer. */
  code: string | undefined;
  message: string;
  /** What the service asked us to wait (429 x-ms-retry-after-ms, Retry-After), in ms. */
  retryAfterMs: number | undefined;
}

function numberOrUndefined(value: unknown): number | undefined {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

function header(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== "object") return undefined;
  const get = (headers as { get?: (n: string) => unknown }).get;
  if (typeof get === "function") return get.call(headers, name);
  return (headers as Record<string, unknown>)[name];
}

/** Normalises an SDK error (RestError, Cosmos ErrorResponse, socket error) or a bulk result's `error`. */
export function toFailure(error: unknown): OperationFailure {
  const e = (error ?? {}) as Record<string, unknown>;
  const numericCode = typeof e.code === "number" ? e.code : undefined;
  const status = numberOrUndefined(e.statusCode) ?? numericCode;
  const retryAfterSeconds = numberOrUndefined(
    header(e.headers ?? (e.response as { headers?: unknown })?.headers, "retry-after"),
  );
  const retryAfterMs =
    numberOrUndefined(e.retryAfterInMs) ??
    numberOrUndefined(e.retryAfterInMilliseconds) ??
    numberOrUndefined(header(e.headers, "x-ms-retry-after-ms")) ??
    (retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : undefined);
  return {
    status,
    code: typeof e.code === "string" ? e.code : undefined,
    message: (error instanceof Error
      ? error.message
      : typeof e.message === "string"
        ? e.message
        : String(error)
    )
      .split("\n")[0]!
      .slice(0, 500),
    retryAfterMs,
  };
}

export function describeFailure(failure: OperationFailure): string {
  const what = failure.status !== undefined ? `HTTP ${failure.status}` : (failure.code ?? "error");
  return `${what}: ${failure.message}`;
}

/**
 * Whether a Cosmos write failed because of the document itself, so retrying cannot help and the event is
 * dead-lettered: 400 (bad document) and 413 (too large). Everything else — 429 throttling, timeouts, 5xx, auth and
 * missing containers (404 on a write: an outage of configuration, not the event's fault), connection errors and
 * anything unknown — is retried, so the partition stops instead of dead-lettering a whole outage.
 */
export function isPermanentCosmosWriteFailure(failure: OperationFailure): boolean {
  return failure.status === 400 || failure.status === 413;
}

export const isThrottle = (failure: OperationFailure) => failure.status === 429;
/** A conditional write lost a race (412 etag changed, 409 created meanwhile): read again and decide again. */
export const isConflict = (failure: OperationFailure) => failure.status === 409 || failure.status === 412;
