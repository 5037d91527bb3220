// The saga latency baseline: one SNS → SQS hop on the emulator (publish → the message is receivable), measured alone.
import { setTimeout as delay } from "node:timers/promises";
import { PublishCommand } from "@aws-sdk/client-sns";
import { DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { createSnsClient, createSqsClient } from "../shared/aws-clients.ts";
import { placedEvent } from "../test/support/order-event-fixtures.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { summarize, type LatencySummary } from "./lib/stats.ts";

const HOPS = Number(process.env.BENCH_HOP_SAMPLES ?? 100);

export interface SagaHopResult {
  name: string;
  /** publish → received, ms */
  hop: LatencySummary;
  /** Relay → SNS → SQS → worker happens twice before SHIPPED (order.placed, inventory.reserved). */
  hopsToShipped: number;
  markdown: string;
}

export async function run(progress: (line: string) => void = () => undefined): Promise<SagaHopResult> {
  const env = await createTestEnv({ aws: true });
  const aws = { AWS_REGION: env.AWS_REGION!, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL };
  const sns = createSnsClient(aws);
  const sqs = createSqsClient(aws);
  const samples: number[] = [];
  try {
    for (let i = 0; i < HOPS; i++) {
      const event = placedEvent();
      const t0 = performance.now();
      await sns.send(
        new PublishCommand({
          TopicArn: env.ORDERS_TOPIC_ARN,
          Message: JSON.stringify(event),
          MessageAttributes: { type: { DataType: "String", StringValue: event.type } },
        }),
      );
      // Short polls in a tight loop: the floor of the hop, not a long poll's wake-up behaviour.
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: env.INVENTORY_QUEUE_URL,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
          }),
        );
        if (Messages.length > 0) {
          samples.push(performance.now() - t0);
          for (const m of Messages)
            await sqs.send(
              new DeleteMessageCommand({ QueueUrl: env.INVENTORY_QUEUE_URL, ReceiptHandle: m.ReceiptHandle }),
            );
          break;
        }
        await delay(2);
      }
    }
    progress(`saga hop: ${HOPS} samples`);
  } finally {
    sns.destroy();
    sqs.destroy();
  }
  const hop = summarize(samples.map((s) => Math.round(s * 10) / 10));
  return {
    name: "saga-hop",
    hop,
    hopsToShipped: 2,
    markdown: `SNS publish → receivable in SQS (fauxqs), ${HOPS} sequential samples: p50 ${hop.p50} ms, p99 ${hop.p99} ms.`,
  };
}

if (import.meta.main) console.log((await run(console.error)).markdown);
