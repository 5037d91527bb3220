// Acknowledges messages with DeleteMessageBatch: deletes requested in the same tick go out as one call (≤ 10).
import { DeleteMessageBatchCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";

interface Pending {
  message: Message;
  resolve: (deleted: boolean) => void;
}

/**
 * Handlers of one received batch usually finish together, so their deletes share a request: one SQS call
 * instead of ten (cheaper, and faster for short handlers). A failed delete only means the message comes back
 * after its visibility timeout, where the processed marker turns it into a duplicate.
 */
export class DeleteBatcher {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #onError: (error: unknown, failed: number) => void;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(sqs: SQSClient, queueUrl: string, onError: (error: unknown, failed: number) => void) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#onError = onError;
  }

  /** Resolves true once SQS confirmed the delete, false when it did not (never rejects). */
  delete(message: Message): Promise<boolean> {
    return new Promise((resolve) => {
      this.#pending.push({ message, resolve });
      if (this.#pending.length >= 10) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = this.#pending.length > 10;
    const batch = this.#pending.splice(0, 10);
    if (this.#pending.length > 0) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    if (batch.length === 0) return;
    void this.#send(batch);
  }

  async #send(batch: Pending[]): Promise<void> {
    try {
      const result = await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((p, i) => ({ Id: String(i), ReceiptHandle: p.message.ReceiptHandle })),
        }),
      );
      const failed = new Set((result.Failed ?? []).map((f) => f.Id));
      if (failed.size > 0)
        this.#onError(new Error(`DeleteMessageBatch refused ${failed.size} entries`), failed.size);
      batch.forEach((p, i) => p.resolve(!failed.has(String(i))));
    } catch (error) {
      this.#onError(error, batch.length);
      for (const p of batch) p.resolve(false);
    }
  }
}
