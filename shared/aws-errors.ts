// The one place that decides what an AWS SDK (SQS/SNS) error means: aborted, connection, throttling or permanent.
// The SQS workers and the relay both classify their failures here.

export type SdkErrorKind =
  /** We aborted the request ourselves (shutdown): not a failure. */
  | "aborted"
  /** The endpoint could not be reached or the request timed out: wait and try again. */
  | "connection"
  /** The service asked us to slow down: wait longer and try again. */
  | "throttling"
  /** The request is wrong or not allowed (missing queue, access denied, bad parameter): retrying cannot help. */
  | "permanent"
  /** A 5xx or anything else unknown: try again. */
  | "transient";

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $fault?: "client" | "server";
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "NetworkingError",
]);

const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "OverLimit",
  "KmsThrottled",
]);

const PERMANENT_CODES = new Set([
  "QueueDoesNotExist",
  "AWS.SimpleQueueService.NonExistentQueue",
  "NotFound",
  "NotFoundException",
  "AccessDenied",
  "AccessDeniedException",
  "InvalidAddress",
  "InvalidSecurity",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "InvalidParameterValue",
  "InvalidParameterException",
  "InvalidAttributeName",
  "InvalidAttributeValue",
  "InvalidMessageContents",
  "MessageTooLong",
  "UnsupportedOperation",
  "AuthorizationError",
]);

/** Unwraps sqs-consumer's SQSError (which carries the SDK error as `cause`). */
function sdkError(error: unknown): SdkErrorShape & { cause?: unknown } {
  if (typeof error !== "object" || error === null) return {};
  const wrapped = error as { name?: string; cause?: unknown };
  if (wrapped.name === "SQSError" && typeof wrapped.cause === "object" && wrapped.cause !== null) {
    return wrapped.cause;
  }
  return error;
}

export function sdkErrorCode(error: unknown): string {
  const e = sdkError(error);
  const nested = (e.cause ?? {}) as { code?: string };
  return e.Code ?? e.code ?? nested.code ?? e.name ?? "Unknown";
}

export function classifySdkError(error: unknown): SdkErrorKind {
  const e = sdkError(error);
  const name = e.name ?? "";
  const code = sdkErrorCode(error);
  const status = e.$metadata?.httpStatusCode;
  if (name === "AbortError" || code === "AbortError") return "aborted";
  if (e.$retryable?.throttling || THROTTLING_CODES.has(code) || THROTTLING_CODES.has(name) || status === 429)
    return "throttling";
  if (PERMANENT_CODES.has(code) || PERMANENT_CODES.has(name) || status === 403) return "permanent";
  if (CONNECTION_CODES.has(code) || CONNECTION_CODES.has(name) || status === undefined) return "connection";
  if (e.$fault === "client" && status >= 400 && status < 500) return "permanent";
  return "transient";
}

/** A short operator-facing description: what failed, its code, and what to do. */
export function describeSdkError(error: unknown, what: string): string {
  const kind = classifySdkError(error);
  const code = sdkErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const advice: Record<SdkErrorKind, string> = {
    aborted: "aborted on purpose",
    connection: "check AWS_ENDPOINT_URL / network; retrying",
    throttling: "throttled by AWS; backing off",
    permanent: "check the queue URL, region and IAM permissions",
    transient: "retrying",
  };
  return `${what} failed (${kind}, ${code}): ${message}; ${advice[kind]}`;
}

/** Whether waiting can fix the failure (network, throttling, 5xx), as opposed to a mistake in configuration or data. */
export function isTransientSdkError(error: unknown): boolean {
  return classifySdkError(error) !== "permanent";
}
