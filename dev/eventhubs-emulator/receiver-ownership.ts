// Who may read a partition in a consumer group: owner levels (epochs) and the five-receiver quota.
import { MAX_RECEIVERS_WITHOUT_OWNER_LEVEL } from "./options.ts";

export interface OwnedReceiver {
  /** The owner level (epoch), or undefined for a receiver without one. */
  ownerLevel: number | undefined;
  /** Detaches the receiver because another took the partition. */
  evict(condition: string, description: string): void;
}

export type AdmitVerdict = { admitted: true } | { admitted: false; condition: string; description: string };

/**
 * The service's rules, per partition and consumer group: a receiver with an owner level equal to or
 * higher than every other takes the partition and the others are detached with `amqp:link:stolen`;
 * a lower level is refused; receivers without a level are refused while one with a level exists and
 * are limited to five.
 */
export class ReceiverOwnership {
  private readonly receivers = new Set<OwnedReceiver>();
  private readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  admit(receiver: OwnedReceiver): AdmitVerdict {
    const levels = [...this.receivers].map((r) => r.ownerLevel).filter((l): l is number => l !== undefined);
    const highest = levels.length ? Math.max(...levels) : undefined;
    if (receiver.ownerLevel !== undefined) {
      if (highest !== undefined && highest > receiver.ownerLevel) {
        return {
          admitted: false,
          condition: "amqp:link:stolen",
          description:
            `Receiver with owner level '${highest}' already exists for ${this.name}. ` +
            `A receiver with owner level '${receiver.ownerLevel}' cannot be created.`,
        };
      }
      for (const other of [...this.receivers]) {
        this.receivers.delete(other);
        other.evict(
          "amqp:link:stolen",
          `New receiver with higher or equal owner level '${receiver.ownerLevel}' is created for ${this.name}; ` +
            `this receiver (owner level '${other.ownerLevel ?? "none"}') is disconnected.`,
        );
      }
    } else {
      if (highest !== undefined) {
        return {
          admitted: false,
          condition: "amqp:link:stolen",
          description:
            `At least one receiver for ${this.name} is created with owner level '${highest}', ` +
            `and so a receiver without an owner level is not allowed.`,
        };
      }
      if (this.receivers.size >= MAX_RECEIVERS_WITHOUT_OWNER_LEVEL) {
        return {
          admitted: false,
          condition: "amqp:resource-limit-exceeded",
          description:
            `Exceeded the maximum number of allowed receivers per partition in a consumer group which is ` +
            `${MAX_RECEIVERS_WITHOUT_OWNER_LEVEL} (${this.name}).`,
        };
      }
    }
    this.receivers.add(receiver);
    return { admitted: true };
  }

  release(receiver: OwnedReceiver): void {
    this.receivers.delete(receiver);
  }

  count(): number {
    return this.receivers.size;
  }
}
