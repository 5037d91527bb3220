// Links the peer publishes events on: `<hub>` or `<hub>/Partitions/<n>`; batches and single messages kept byte for byte.
import type { Delivery, EventContext, Receiver } from "rhea";
import { amqpError } from "./amqp-link.ts";
import { receiveRaw } from "./amqp-wire.ts";
import type { EventHub } from "./event-hub.ts";
import { MalformedMessageError, messagePartitionKey, splitBatch } from "./message-bytes.ts";
import { MAX_MESSAGE_SIZE } from "./options.ts";
import type { PartitionLog } from "./partition-log.ts";

/** Message format of the SDKs' batches: one data section per complete encoded event. */
const BATCH_FORMAT = 0x80013700;

/** Takes events on `receiver` into the hub (routed by partition key or round robin) or into one partition. */
export function acceptEvents(receiver: Receiver, hub: EventHub, partition: PartitionLog | undefined): void {
  receiveRaw(receiver);
  receiver.on("message", (context: EventContext) => onEvents(context, hub, partition));
}

function onEvents(context: EventContext, hub: EventHub, partition: PartitionLog | undefined): void {
  const delivery = context.delivery!;
  // Every delivery arrives undecoded (see receiveRaw): the sender's bytes are what receivers get.
  const raw = context.message as unknown as Buffer;
  const format = (context as EventContext & { format?: number }).format;
  try {
    if (raw.length > MAX_MESSAGE_SIZE) return rejectTooLarge(delivery, raw.length);
    const { events, partitionKey } =
      format === BATCH_FORMAT ? splitBatch(raw) : { events: [raw], partitionKey: messagePartitionKey(raw) };
    if (events.length > 0) (partition ?? hub.route(partitionKey)).append(events, partitionKey);
    delivery.accept();
  } catch (error) {
    // A bad message is the sender's problem; anything else (say, a full disk under --data-dir) fails this send,
    // not the emulator.
    const message = error instanceof Error ? error.message : String(error);
    delivery.reject(
      amqpError(
        error instanceof MalformedMessageError ? "amqp:decode-error" : "amqp:internal-error",
        message,
      ),
    );
  }
}

function rejectTooLarge(delivery: Delivery, size: number): void {
  delivery.reject(
    amqpError(
      "amqp:link:message-size-exceeded",
      `The received message (delivery-id:${delivery.id}, size:${size} bytes) exceeds the limit ` +
        `(${MAX_MESSAGE_SIZE} bytes) currently allowed on the link.`,
    ),
  );
}
