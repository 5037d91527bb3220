// Reads what arrived on an SQS queue during a test: CloudEvent bodies with their message attributes.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";

export interface ReceivedEvent {
  body: Record<string, unknown>;
  attributes: Record<string, string | undefined>;
}

export class QueueReader {
  readonly received: ReceivedEvent[] = [];
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;

  constructor(env: Record<string, string | undefined>, queueUrl: string) {
    this.#queueUrl = queueUrl;
    this.#sqs = new SQSClient({
      region: env.AWS_REGION ?? "us-east-1",
      ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  }

  /** Receives (and deletes) whatever is there now, adds it to `received`, and returns all received so far. */
  async poll(): Promise<ReceivedEvent[]> {
    const reply = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ["All"],
      }),
    );
    const messages = reply.Messages ?? [];
    for (const message of messages) {
      this.received.push({
        body: JSON.parse(message.Body ?? "{}") as Record<string, unknown>,
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
        ),
      });
    }
    if (messages.length > 0) {
      await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return this.received;
  }

  /** Distinct CloudEvent ids received so far. */
  ids(): Set<string> {
    return new Set(this.received.map((r) => String(r.body.id)));
  }

  close(): void {
    this.#sqs.destroy();
  }
}
