// `infra policy`: the least-privilege AWS IAM policy and Azure role assignments each role needs.
import type { Topology } from "./topology.ts";

interface Statement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string[];
}

export interface RolePolicy {
  role: string;
  aws?: { Version: "2012-10-17"; Statement: Statement[] };
  azure?: { role: string; scope: string; why: string }[];
}

/** The names in ARNs and Azure scopes that eventfleet cannot know; unset ones print as PLACEHOLDERS. */
export interface CloudNames {
  awsAccount?: string | undefined;
  subscription?: string | undefined;
  resourceGroup?: string | undefined;
  storageAccount?: string | undefined;
  cosmosAccount?: string | undefined;
  eventHubsNamespace?: string | undefined;
}

/** What an unset name prints as, and the `infra policy` flag that fills it in. */
export const PLACEHOLDERS: Record<keyof CloudNames, { text: string; flag: string }> = {
  awsAccount: { text: "<aws-account-id>", flag: "--aws-account" },
  subscription: { text: "<subscription-id>", flag: "--subscription" },
  resourceGroup: { text: "<resource-group>", flag: "--resource-group" },
  storageAccount: { text: "<storage-account>", flag: "--storage-account" },
  cosmosAccount: { text: "<cosmos-account>", flag: "--cosmos-account" },
  eventHubsNamespace: { text: "<eventhubs-namespace>", flag: "--eventhubs-namespace" },
};

export interface PolicyOptions {
  region: string;
  names: CloudNames;
}

/** The Azure names the environment already gives (the endpoints of `infra apply`), for `infra policy`'s defaults. */
export function azureNamesFromEndpoints(env: {
  STORAGE_ACCOUNT_URL?: string | undefined;
  COSMOS_ENDPOINT?: string | undefined;
  EVENTHUB_NAMESPACE?: string | undefined;
}): CloudNames {
  const first = (value: string | undefined, suffix: string) => {
    if (!value) return undefined;
    const host = value.includes("://") ? new URL(value).hostname : value;
    return host.endsWith(suffix) ? host.slice(0, -suffix.length) : undefined;
  };
  return {
    storageAccount: first(env.STORAGE_ACCOUNT_URL, ".blob.core.windows.net"),
    cosmosAccount: first(env.COSMOS_ENDPOINT, ".documents.azure.com"),
    eventHubsNamespace: first(env.EVENTHUB_NAMESPACE, ".servicebus.windows.net"),
  };
}

/** The placeholders still in `policies`, each with the flag that would fill it. */
export function placeholdersLeft(policies: readonly RolePolicy[]): { text: string; flag: string }[] {
  const text = JSON.stringify(policies);
  return Object.values(PLACEHOLDERS).filter((p) => text.includes(p.text));
}

export function rolePolicies(topology: Topology, { region, names }: PolicyOptions): RolePolicy[] {
  const name = (key: keyof CloudNames) => names[key] ?? PLACEHOLDERS[key].text;
  const accountId = name("awsAccount");
  const topicArn = `arn:aws:sns:${region}:${accountId}:${topology.topicName}`;
  const queueArn = (queue: string) => `arn:aws:sqs:${region}:${accountId}:${queue}`;
  const iam = (...Statement: Statement[]) => ({ Version: "2012-10-17" as const, Statement });
  const group = `/subscriptions/${name("subscription")}/resourceGroups/${name("resourceGroup")}/providers`;
  const storage = `${group}/Microsoft.Storage/storageAccounts/${name("storageAccount")}`;
  const hub = `${group}/Microsoft.EventHub/namespaces/${name("eventHubsNamespace")}/eventhubs/${topology.eventHub.name}`;
  const cosmosDb = `${group}/Microsoft.DocumentDB/databaseAccounts/${name("cosmosAccount")}/dbs/${topology.cosmos.database}`;
  const publish: Statement = {
    Sid: "PublishOrderEvents",
    Effect: "Allow",
    Action: ["sns:Publish"],
    Resource: [topicArn],
  };

  const workers: RolePolicy[] = topology.queues.map((queue) => ({
    role: `worker ${queue.worker}`,
    aws: iam(
      {
        Sid: "ConsumeOwnQueue",
        Effect: "Allow",
        // GetQueueAttributes also serves KEDA's aws-sqs-queue scaler, which runs with this role (identityOwner: workload).
        Action: [
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:ChangeMessageVisibility",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
        ],
        Resource: [queueArn(queue.name)],
      },
      {
        Sid: "DeadLetterOwnQueue",
        Effect: "Allow",
        Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        Resource: [queueArn(queue.dlqName)],
      },
    ),
  }));

  return [
    { role: "api (with the relay inside)", aws: iam(publish) },
    { role: "relay", aws: iam(publish) },
    ...workers,
    {
      role: "worker device-ingest",
      azure: [
        { role: "Azure Event Hubs Data Receiver", scope: hub, why: "read partitions of the hub" },
        {
          role: "Storage Blob Data Contributor",
          scope: `${storage}/blobServices/default/containers/${topology.blobContainers.checkpoints}`,
          why: "ownership and checkpoints",
        },
        {
          role: "Storage Blob Data Contributor",
          scope: `${storage}/blobServices/default/containers/${topology.blobContainers.deadletter}`,
          why: "bodies of large dead letters",
        },
        {
          role: "Storage Queue Data Message Sender",
          scope: `${storage}/queueServices/default/queues/${topology.storageQueue}`,
          why: "dead-letter invalid events",
        },
        {
          role: "Storage Queue Data Reader",
          scope: `${storage}/queueServices/default/queues/${topology.storageQueue}`,
          why: "KEDA (with this identity) reads the dead-letter depth for the EventfleetDlqNotEmpty alert",
        },
        {
          role: "Cosmos DB Built-in Data Contributor (00000000-0000-0000-0000-000000000002)",
          scope: cosmosDb,
          why: "upsert telemetry and device state (a Cosmos data-plane role assignment)",
        },
      ],
    },
    {
      role: "operator: eventfleet dlq (stats, peek, redrive)",
      aws: iam({
        Sid: "InspectAndRedrive",
        Effect: "Allow",
        Action: [
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:SendMessage",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
          "sqs:ChangeMessageVisibility",
        ],
        Resource: topology.queues.flatMap((q) => [queueArn(q.name), queueArn(q.dlqName)]),
      }),
    },
    {
      role: "operator: eventfleet deadletter (stats, peek, replay)",
      azure: [
        {
          role: "Storage Queue Data Message Processor",
          scope: `${storage}/queueServices/default/queues/${topology.storageQueue}`,
          why: "read and delete dead letters",
        },
        {
          role: "Storage Blob Data Reader",
          scope: `${storage}/blobServices/default/containers/${topology.blobContainers.deadletter}`,
          why: "large bodies",
        },
        { role: "Azure Event Hubs Data Sender", scope: hub, why: "replay --to eventhub" },
        {
          role: "Cosmos DB Built-in Data Contributor (00000000-0000-0000-0000-000000000002)",
          scope: cosmosDb,
          why: "replay --to cosmos",
        },
      ],
    },
    {
      role: "operator: eventfleet infra apply",
      aws: iam(
        {
          Sid: "ManageTopic",
          Effect: "Allow",
          Action: [
            "sns:CreateTopic",
            "sns:ListTopics",
            "sns:Subscribe",
            "sns:ListSubscriptionsByTopic",
            "sns:GetSubscriptionAttributes",
            "sns:SetSubscriptionAttributes",
          ],
          Resource: [topicArn, `arn:aws:sns:${region}:${accountId}:*`],
        },
        {
          Sid: "ManageQueues",
          Effect: "Allow",
          Action: ["sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
          Resource: topology.queues.flatMap((q) => [queueArn(q.name), queueArn(q.dlqName)]),
        },
      ),
      azure: [
        { role: "Storage Blob Data Contributor", scope: storage, why: "create the containers" },
        { role: "Storage Queue Data Contributor", scope: storage, why: "create the dead-letter queue" },
        {
          role: "Cosmos DB Operator",
          scope: cosmosDb.replace(/\/dbs\/.*$/, ""),
          why: "create the database and containers",
        },
        { role: "Azure Event Hubs Data Receiver", scope: hub, why: "read the hub's partitions" },
      ],
    },
    {
      role: "KEDA operator (azure-eventhub scaler, workload identity)",
      azure: [
        {
          role: "Storage Blob Data Reader",
          scope: `${storage}/blobServices/default/containers/${topology.blobContainers.checkpoints}`,
          why: "read checkpoints to compute lag",
        },
        { role: "Azure Event Hubs Data Receiver", scope: hub, why: "read partition sequence numbers" },
        {
          role: "Storage Queue Data Reader",
          scope: `${storage}/queueServices/default/queues/${topology.storageQueue}`,
          why: "the dead-letter observer trigger (keda.watchDeadLetters)",
        },
      ],
    },
  ];
}
