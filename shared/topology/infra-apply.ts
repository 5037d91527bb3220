// `infra apply`: the whole topology against whatever clouds are configured, one reported line per resource.
import { z } from "zod";
import { awsEnv, cosmosEnv, envVar, eventHubEnv, processEnv, storageEnv, type ConfigOf } from "../config.ts";
import { createSnsClient, createSqsClient } from "../aws-clients.ts";
import { createCosmosClient, createEventHubProducer, createStorageClients } from "../azure-clients.ts";
import type { ApplyReporter } from "./apply-report.ts";
import { applyAws, type AwsResources } from "./aws-apply.ts";
import { applyCosmos, applyStorage, verifyEventHub } from "./azure-apply.ts";
import { buildTopology, workerQueueVariables, type Topology } from "./topology.ts";

export const infraEnv = {
  EVENTFLEET_ENV: processEnv.EVENTFLEET_ENV,
  ...awsEnv,
  SQS_MAX_RECEIVE_COUNT: envVar(z.coerce.number().int().min(1).max(1000), {
    expects: "an integer 1-1000",
    description: "Receives of a message before SQS moves it to the worker's DLQ.",
    default: "5",
  }),
  SQS_VISIBILITY_TIMEOUT_SECONDS: envVar(z.coerce.number().int().min(0).max(43_200), {
    expects: "an integer number of seconds 0-43200",
    description: "Default visibility timeout of the worker queues (workers extend it for long handlers).",
    default: "30",
  }),
  ...storageEnv,
  ...cosmosEnv,
  ...eventHubEnv,
};

export type InfraConfig = ConfigOf<typeof infraEnv>;

export interface ApplyOutcome {
  topology: Topology;
  aws?: AwsResources;
  eventHubPartitions?: string[];
}

export function topologyOf(config: InfraConfig): Topology {
  return buildTopology({
    env: config.EVENTFLEET_ENV,
    maxReceiveCount: config.SQS_MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: config.SQS_VISIBILITY_TIMEOUT_SECONDS,
    ...(config.COSMOS_DATABASE ? { cosmosDatabase: config.COSMOS_DATABASE } : {}),
    ...(config.EVENTHUB_CHECKPOINT_CONTAINER
      ? { checkpointContainer: config.EVENTHUB_CHECKPOINT_CONTAINER }
      : {}),
    eventHubName: config.EVENTHUB_NAME,
    consumerGroup: config.EVENTHUB_CONSUMER_GROUP,
  });
}

/** Variables whose presence says a cloud is meant: `infra apply` touches only the clouds named by the environment. */
export const CLOUD_MARKERS = {
  aws: ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"],
  azure: [
    "EVENTHUB_NAMESPACE",
    "EVENTHUB_CONNECTION_STRING",
    "STORAGE_ACCOUNT_URL",
    "STORAGE_CONNECTION_STRING",
    "COSMOS_ENDPOINT",
  ],
} as const;

/**
 * Which clouds `infra apply` works on: those the caller asked for (`--aws`/`--no-aws`, `--azure`/`--no-azure`),
 * else those the environment configures, so an AKS-only run never asks for AWS credentials and the reverse.
 */
export function cloudsToApply(
  env: NodeJS.ProcessEnv,
  asked: { aws?: boolean | undefined; azure?: boolean | undefined },
): { aws: boolean; azure: boolean } {
  const configured = (cloud: keyof typeof CLOUD_MARKERS) => CLOUD_MARKERS[cloud].some((name) => env[name]);
  return { aws: asked.aws ?? configured("aws"), azure: asked.azure ?? configured("azure") };
}

export interface ApplyOptions {
  dryRun?: boolean;
  report: ApplyReporter;
  /** Which clouds to touch; Azure parts are skipped anyway when their endpoint is not configured. */
  aws?: boolean;
  azure?: boolean;
}

export async function applyInfra(config: InfraConfig, options: ApplyOptions): Promise<ApplyOutcome> {
  const topology = topologyOf(config);
  const dryRun = options.dryRun ?? false;
  const base = { topology, dryRun, report: options.report };
  const outcome: ApplyOutcome = { topology };

  if (options.aws === false) {
    options.report({
      kind: "aws",
      name: "(sns topic, sqs queues)",
      action: "skipped",
      detail: `AWS not configured: set ${CLOUD_MARKERS.aws.join(" or ")}, or pass --aws`,
    });
  } else {
    const sns = createSnsClient(config);
    const sqs = createSqsClient(config);
    try {
      outcome.aws = await applyAws({ ...base, sns, sqs });
    } finally {
      sns.destroy();
      sqs.destroy();
    }
  }
  if (options.azure === false) return outcome;

  if (config.STORAGE_CONNECTION_STRING || config.STORAGE_ACCOUNT_URL) {
    const storage = createStorageClients(config);
    await applyStorage(base, storage.blob, storage.queue);
  } else {
    options.report({
      kind: "storage",
      name: "(blob containers, storage queue)",
      action: "skipped",
      detail: "set STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_URL",
    });
  }
  if (config.COSMOS_ENDPOINT) {
    const cosmos = createCosmosClient({
      COSMOS_ENDPOINT: config.COSMOS_ENDPOINT,
      COSMOS_KEY: config.COSMOS_KEY,
      COSMOS_EMULATOR: config.COSMOS_EMULATOR,
    });
    try {
      await applyCosmos(base, cosmos);
    } finally {
      cosmos.dispose();
    }
  } else {
    options.report({
      kind: "cosmos",
      name: topology.cosmos.database,
      action: "skipped",
      detail: "set COSMOS_ENDPOINT",
    });
  }
  if (config.EVENTHUB_CONNECTION_STRING || config.EVENTHUB_NAMESPACE) {
    outcome.eventHubPartitions = (await verifyEventHub(base, createEventHubProducer(config))).partitionIds;
  } else {
    options.report({
      kind: "event hub",
      name: topology.eventHub.name,
      action: "skipped",
      detail: "set EVENTHUB_CONNECTION_STRING or EVENTHUB_NAMESPACE",
    });
  }
  return outcome;
}

/** The environment variables a role needs to find what apply made (what `.eventfleet/stack.env` holds). */
export function resourceEnv(outcome: ApplyOutcome): Record<string, string> {
  const env: Record<string, string> = {
    EVENTFLEET_ENV: outcome.topology.env,
    COSMOS_DATABASE: outcome.topology.cosmos.database,
    EVENTHUB_NAME: outcome.topology.eventHub.name,
    EVENTHUB_CONSUMER_GROUP: outcome.topology.eventHub.consumerGroup,
  };
  if (outcome.aws) {
    env.ORDERS_TOPIC_ARN = outcome.aws.topicArn;
    for (const [worker, queue] of Object.entries(outcome.aws.queues)) {
      const names = workerQueueVariables(worker);
      env[names.queueUrl] = queue.url;
      env[names.dlqUrl] = queue.dlqUrl;
    }
  }
  return env;
}
