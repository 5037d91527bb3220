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

/** For callers that run their own retry loop and must notice an unreachable endpoint within seconds (the relay). */
export interface AwsClientTuning {
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function tuningOptions(tuning: AwsClientTuning) {
  return {
    ...(tuning.maxAttempts !== undefined ? { maxAttempts: tuning.maxAttempts } : {}),
    ...(tuning.connectionTimeoutMs !== undefined || tuning.requestTimeoutMs !== undefined
      ? {
          requestHandler: {
            connectionTimeout: tuning.connectionTimeoutMs,
            requestTimeout: tuning.requestTimeoutMs,
          },
        }
      : {}),
  };
}

export const createSnsClient = (config: AwsClientConfig, tuning: AwsClientTuning = {}) =>
  new SNSClient({ ...awsOptions(config), ...tuningOptions(tuning) });
export const createSqsClient = (config: AwsClientConfig) => new SQSClient(awsOptions(config));
