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

export interface PolicyOptions {
  region: string;
  accountId: string;
}

export function rolePolicies(topology: Topology, { region, accountId }: PolicyOptions): RolePolicy[] {
  const topicArn = `arn:aws:sns:${region}:${accountId}:${topology.topicName}`;
  const queueArn = (name: string) => `arn:aws:sqs:${region}:${accountId}:${name}`;
  const iam = (...Statement: Statement[]) => ({ Version: "2012-10-17" as const, Statement });
  const storage =
    "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>";
  const hub = `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.EventHub/namespaces/<namespace>/eventhubs/${topology.eventHub.name}`;
  const cosmosDb = `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.DocumentDB/databaseAccounts/<account>/dbs/${topology.cosmos.database}`;
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
