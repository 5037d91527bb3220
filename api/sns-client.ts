// The SNS client of the relay, and the one place that decides what an SNS failure means.
import { SNSClient } from "@aws-sdk/client-sns";

export interface SnsClientOptions {
  region: string;
  /** Local emulators only; unset for AWS. */
  endpoint?: string | undefined;
}

export function createSnsClient({ region, endpoint }: SnsClientOptions): SNSClient {
  return new SNSClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    // Emulators take any key; on AWS the default chain (IRSA, env, profile) provides credentials.
    ...(endpoint && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {}),
    // The relay retries with its own backoff and must notice an unreachable SNS within seconds.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 10_000 },
  });
}

/**
 * Whether an SNS call failed in a way that waiting can fix (network, throttling, 5xx) as opposed to a
 * mistake in configuration or data (missing topic, no permission, invalid parameter). The relay retries both
 * (it never drops an event) but logs the second kind as an error an operator must act on.
 */
export function isTransientSnsError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return true;
  const e = error as { $fault?: string; name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name && /Throttl|TooManyRequests|RequestLimitExceeded|Timeout|Abort/i.test(e.name)) return true;
  if (e.$fault === "client") return false;
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
}
