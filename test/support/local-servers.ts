// The run's Redis and SNS/SQS emulator (test/support/stack.ts) plus uniquely named queues for runtime tests.
import { randomUUID } from "node:crypto";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createSqsClient } from "../../shared/aws-clients.ts";
import { getStack } from "./stack.ts";

export interface LocalServers {
  redisUrl: string;
  awsEndpoint: string;
  region: string;
  sqs(): SQSClient;
  stop(): Promise<void>;
}

export async function startLocalServers(): Promise<LocalServers> {
  const { env } = await getStack();
  const clients: SQSClient[] = [];
  const region = env.AWS_REGION ?? "us-east-1";
  return {
    redisUrl: env.REDIS_URL!,
    awsEndpoint: env.AWS_ENDPOINT_URL!,
    region,
    sqs: () => {
      const client = createSqsClient({ AWS_REGION: region, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL });
      clients.push(client);
      return client;
    },
    stop: () => {
      for (const client of clients) client.destroy();
      return Promise.resolve();
    },
  };
}

/** A fresh, uniquely named queue with its DLQ (SQS moves a message there after maxReceiveCount receives). */
export async function createQueuePair(
  sqs: SQSClient,
  name: string,
  { maxReceiveCount = 5, visibilityTimeoutSeconds = 5 } = {},
): Promise<{ queueUrl: string; dlqUrl: string; queueName: string }> {
  const base = `${name}-${randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${base}-dlq` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: base,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: String(maxReceiveCount),
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl!, queueName: base };
}
