// One receiver link reading a partition: sends stored events while the peer gives credit.
import rhea from "rhea";
import type { Sender } from "rhea";
import { amqpError } from "./amqp-link.ts";
import { encodeRuntimeInfo, withDeliveryAnnotations } from "./message-bytes.ts";
import type { PartitionLog } from "./partition-log.ts";
import type { OwnedReceiver } from "./receiver-ownership.ts";
import { TransferWriter } from "./transfer-writer.ts";

export interface PartitionConsumerOptions {
  /** Add the partition's last-enqueued properties to each delivery (`trackLastEnqueuedEventProperties`). */
  runtimeMetrics: boolean;
  ownerLevel: number | undefined;
  /** Benchmark baseline: decode and re-encode every event through rhea's own send. */
  reencode: boolean;
}

export class PartitionConsumer implements OwnedReceiver {
  readonly ownerLevel: number | undefined;
  private readonly sender: Sender;
  private readonly partition: PartitionLog;
  private readonly runtimeMetrics: boolean;
  private readonly reencode: boolean;
  private nextSequenceNumber: number;
  private unsubscribe: (() => void) | undefined;
  private readonly writer: TransferWriter;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    sender: Sender,
    partition: PartitionLog,
    startSequenceNumber: number,
    options: PartitionConsumerOptions,
  ) {
    this.sender = sender;
    this.writer = new TransferWriter(sender);
    this.partition = partition;
    this.nextSequenceNumber = startSequenceNumber;
    this.runtimeMetrics = options.runtimeMetrics;
    this.ownerLevel = options.ownerLevel;
    this.reencode = options.reencode;
  }

  start(): void {
    this.unsubscribe = this.partition.onAppend(() => this.pump());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  evict(condition: string, description: string): void {
    this.stop();
    this.sender.close(amqpError(condition, description));
  }

  pump(): void {
    if (this.stopped) return;
    const sender = this.sender;
    const writer = this.writer;
    // Nothing may precede this link's own ATTACH (and its session's BEGIN) on the wire: a peer that sent attach
    // and flow together would otherwise see a transfer on a channel or handle it does not know yet.
    if (!writer.attached()) {
      this.schedulePump();
      return;
    }
    const first = this.partition.firstSequenceNumber();
    if (this.nextSequenceNumber < first) this.nextSequenceNumber = first;
    let deliveryAnnotations: Buffer | undefined;
    let handedToRhea = false;
    for (;;) {
      const event = this.partition.eventAt(this.nextSequenceNumber);
      if (!event) break;
      let bytes = event.bytes;
      if (this.runtimeMetrics) {
        if (!deliveryAnnotations) {
          const info = this.partition.properties();
          deliveryAnnotations = encodeRuntimeInfo({
            lastSequenceNumber: info.lastSequenceNumber,
            lastOffset: info.lastOffset,
            lastEnqueuedTimeMs: info.lastEnqueuedTimeMs,
            retrievedAtMs: Date.now(),
          });
        }
        bytes = withDeliveryAnnotations(event, deliveryAnnotations);
      }
      if (this.reencode) {
        if (!sender.sendable()) break;
        sender.send(rhea.message.decode(bytes) as Parameters<Sender["send"]>[0]);
      } else if (writer.fits(bytes.length)) {
        if (!writer.canSend()) break;
        writer.add(bytes);
      } else {
        // Larger than a frame: rhea splits it. Our frames go first so delivery ids stay in order.
        writer.flush();
        if (!sender.sendable()) break;
        sender.send(bytes, undefined, 0);
        handedToRhea = true;
      }
      this.nextSequenceNumber++;
    }
    writer.flush();
    // rhea writes its delivery on the next tick; the peer's session window reopens without a link flow (no
    // 'sendable'): in both cases look again shortly.
    if (handedToRhea || writer.blockedByWindow()) this.schedulePump();
  }

  private schedulePump(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.pump();
    }, 1);
  }
}
