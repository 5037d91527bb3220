// Creates or verifies the SNS topic, SQS queues with their DLQs and policies, and the filtered subscriptions.
import {
  CreateTopicCommand,
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  SetSubscriptionAttributesCommand,
  SubscribeCommand,
  type SNSClient,
} from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { changed, type ApplyReporter } from "./apply-report.ts";
import { filterPolicy, type QueueDeclaration, type Topology } from "./topology.ts";

export interface AwsResources {
  topicArn: string;
  queues: Record<string, { url: string; arn: string; dlqUrl: string; dlqArn: string }>;
}

interface AwsApplyOptions {
  sns: SNSClient;
  sqs: SQSClient;
  topology: Topology;
  dryRun: boolean;
  report: ApplyReporter;
}

async function findTopicArn(sns: SNSClient, name: string): Promise<string | undefined> {
  let NextToken: string | undefined;
  do {
    const page = await sns.send(new ListTopicsCommand({ NextToken }));
    const hit = page.Topics?.find((t) => t.TopicArn?.split(":").pop() === name);
    if (hit?.TopicArn) return hit.TopicArn;
    NextToken = page.NextToken;
  } while (NextToken);
  return undefined;
}

async function queueUrl(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (
      error instanceof QueueDoesNotExist ||
      (error as { name?: string }).name === "AWS.SimpleQueueService.NonExistentQueue"
    ) {
      return undefined;
    }
    throw error;
  }
}

/** A placeholder ARN for dry runs, where a resource that would be created has no ARN yet. */
const pendingArn = (kind: string, name: string) => `arn:aws:${kind}:<region>:<account>:${name}`;

/** Policy that lets only our topic send to the queue. */
function queuePolicy(queueArn: string, topicArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowOrdersTopicOnly",
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
    ],
  });
}

async function ensureQueue(
  { sqs, dryRun, report }: AwsApplyOptions,
  name: string,
  wanted: (arn: string) => Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const url = await queueUrl(sqs, name);
  if (!url) {
    if (dryRun) {
      report({ kind: "sqs queue", name, action: "would create" });
      return { url: `<${name} url>`, arn: pendingArn("sqs", name) };
    }
    const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const createdUrl = created.QueueUrl!;
    const arn = await queueArn(sqs, createdUrl);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: createdUrl, Attributes: wanted(arn) }));
    report({ kind: "sqs queue", name, action: "created" });
    return { url: createdUrl, arn };
  }
  const current: Record<string, string | undefined> =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).Attributes ??
    {};
  const arn = current.QueueArn!;
  const desired = wanted(arn);
  const drift = Object.entries(desired).filter(([key, value]) => !sameAttribute(current[key], value));
  if (drift.length > 0 && !dryRun) {
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: desired }));
  }
  report({
    kind: "sqs queue",
    name,
    action: changed(drift.length > 0, dryRun),
    ...(drift.length > 0 ? { detail: drift.map(([k]) => k).join(", ") } : {}),
  });
  return { url, arn };
}

/** Compares attribute values, JSON ones by content (AWS may reorder or reformat them). */
function sameAttribute(current: string | undefined, wanted: string): boolean {
  if (current === wanted) return true;
  if (current === undefined) return false;
  try {
    return JSON.stringify(JSON.parse(current)) === JSON.stringify(JSON.parse(wanted));
  } catch {
    return false;
  }
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  return attributes.Attributes!.QueueArn!;
}

async function ensureSubscription(
  options: AwsApplyOptions,
  topicArn: string,
  queue: QueueDeclaration,
  endpoint: string,
) {
  const { sns, dryRun, report } = options;
  const name = `${options.topology.topicName} → ${queue.name}`;
  const wanted = {
    RawMessageDelivery: "true",
    FilterPolicyScope: "MessageAttributes",
    FilterPolicy: filterPolicy(queue),
  };
  let existing: string | undefined;
  if (!topicArn.includes("<account>")) {
    let NextToken: string | undefined;
    do {
      const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken }));
      existing ??= page.Subscriptions?.find(
        (s) => s.Protocol === "sqs" && s.Endpoint === endpoint,
      )?.SubscriptionArn;
      NextToken = page.NextToken;
    } while (NextToken && !existing);
  }
  if (!existing) {
    if (!dryRun) {
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: "sqs",
          Endpoint: endpoint,
          Attributes: wanted,
          ReturnSubscriptionArn: true,
        }),
      );
    }
    report({
      kind: "sns subscription",
      name,
      action: dryRun ? "would create" : "created",
      detail: queue.filterTypes.join(", "),
    });
    return;
  }
  const current =
    (await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: existing }))).Attributes ?? {};
  const drift = Object.entries(wanted).filter(([key, value]) => !sameAttribute(current[key], value));
  if (drift.length > 0 && !dryRun) {
    for (const [AttributeName, AttributeValue] of drift) {
      await sns.send(
        new SetSubscriptionAttributesCommand({ SubscriptionArn: existing, AttributeName, AttributeValue }),
      );
    }
  }
  report({
    kind: "sns subscription",
    name,
    action: changed(drift.length > 0, dryRun),
    ...(drift.length > 0 ? { detail: drift.map(([k]) => k).join(", ") } : {}),
  });
}

export async function applyAws(options: AwsApplyOptions): Promise<AwsResources> {
  const { sns, topology, dryRun, report } = options;
  let topicArn = await findTopicArn(sns, topology.topicName);
  if (topicArn) {
    report({ kind: "sns topic", name: topology.topicName, action: "exists" });
  } else if (dryRun) {
    topicArn = pendingArn("sns", topology.topicName);
    report({ kind: "sns topic", name: topology.topicName, action: "would create" });
  } else {
    topicArn = (await sns.send(new CreateTopicCommand({ Name: topology.topicName }))).TopicArn!;
    report({ kind: "sns topic", name: topology.topicName, action: "created" });
  }

  const queues: AwsResources["queues"] = {};
  for (const queue of topology.queues) {
    const dlq = await ensureQueue(options, queue.dlqName, () => ({
      MessageRetentionPeriod: String(queue.retentionSeconds),
    }));
    const source = await ensureQueue(options, queue.name, (arn) => ({
      VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(queue.retentionSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: queue.maxReceiveCount }),
      Policy: queuePolicy(arn, topicArn),
    }));
    await ensureSubscription(options, topicArn, queue, source.arn);
    queues[queue.worker] = { url: source.url, arn: source.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
  }
  return { topicArn, queues };
}
