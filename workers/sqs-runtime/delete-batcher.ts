// Acknowledges messages with DeleteMessageBatch: deletes requested in the same tick go out as one call (≤ 10).
import { DeleteMessageBatchCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import { TickBatcher } from "../../shared/tick-batcher.ts";

/**
 * Handlers of one received batch usually finish together, so their deletes share a request: one SQS call
 * instead of ten (cheaper, and faster for short handlers). A failed delete only means the message comes back
 * after its visibility timeout, where the processed marker turns it into a duplicate.
 */
export class DeleteBatcher {
  readonly #batcher: TickBatcher<Message, boolean>;

  constructor(sqs: SQSClient, queueUrl: string, onError: (error: unknown, failed: number) => void) {
    this.#batcher = new TickBatcher(
      async (messages) => {
        try {
          const result = await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
          const failed = new Set((result.Failed ?? []).map((f) => f.Id));
          if (failed.size > 0)
            onError(new Error(`DeleteMessageBatch refused ${failed.size} entries`), failed.size);
          return messages.map((_, i) => !failed.has(String(i)));
        } catch (error) {
          onError(error, messages.length);
          return messages.map(() => false);
        }
      },
      { max: 10 },
    );
  }

  /** Resolves true once SQS confirmed the delete, false when it did not (never rejects). */
  delete(message: Message): Promise<boolean> {
    return this.#batcher.request(message);
  }
}
