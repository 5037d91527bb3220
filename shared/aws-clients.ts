// Builds the AWS SDK clients from configuration: the one place that knows the local emulator from AWS.
// Apart from the Azure clients (azure-clients.ts), so the order roles do not load the Azure SDKs (~350 ms, ~35 MiB).
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsClientConfig {
  AWS_REGION: string;
  AWS_ENDPOINT_URL?: string | undefined;
}

/** Emulators ignore credentials, but the SDK refuses to sign without some. Real AWS uses the default chain (IRSA). */
function awsOptions(config: AwsClientConfig) {
  return {
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL
      ? { endpoint: config.AWS_ENDPOINT_URL, credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {}),
  };
}

/**
 * Time limits of one SDK call. Every client has them: an endpoint that accepts connections but never answers
 * must fail a call, not hang it (the SDK's requestTimeout alone only logs a warning; throwOnRequestTimeout makes
 * it an error the caller retries).
 */
export interface AwsClientTuning {
  /** Attempts per call (the SDK's retries). Default the SDK's 3; callers with their own retry loop set 1. */
  maxAttempts?: number;
  /** Connecting to the endpoint. Default 3000 ms: a reachable AWS endpoint connects in milliseconds. */
  connectionTimeoutMs?: number;
  /**
   * Whole request and response. Default 30 000 ms: above SQS's longest long poll (20 s) with room for a slow
   * answer; callers that must notice a hung endpoint sooner set less.
   */
  requestTimeoutMs?: number;
}

export const AWS_CLIENT_DEFAULTS = { connectionTimeoutMs: 3000, requestTimeoutMs: 30_000 } as const;

function tuningOptions(tuning: AwsClientTuning) {
  return {
    ...(tuning.maxAttempts !== undefined ? { maxAttempts: tuning.maxAttempts } : {}),
    requestHandler: {
      connectionTimeout: tuning.connectionTimeoutMs ?? AWS_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: tuning.requestTimeoutMs ?? AWS_CLIENT_DEFAULTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}

export const createSnsClient = (config: AwsClientConfig, tuning: AwsClientTuning = {}) =>
  new SNSClient({ ...awsOptions(config), ...tuningOptions(tuning) });
export const createSqsClient = (config: AwsClientConfig, tuning: AwsClientTuning = {}) =>
  new SQSClient({ ...awsOptions(config), ...tuningOptions(tuning) });
