// One partition: its events in order, their sequence numbers and offsets, retention, and readers.
import { stampEvent } from "./message-bytes.ts";
import type { EventStamp, StampedEvent } from "./message-bytes.ts";
import type { LogEnd, PartitionFile } from "./partition-file.ts";
import type { StartPosition } from "./start-position.ts";

export interface StoredEvent {
  sequenceNumber: number;
  /** Byte position of the event in the partition's log, as the service's offsets are. */
  offset: number;
  enqueuedTimeMs: number;
  /** The message as delivered, service annotations included (see message-bytes.ts). */
  bytes: Buffer;
  headerLength: number;
}

export interface Retention {
  maxEvents?: number | undefined;
  maxAgeMs?: number | undefined;
}

/** Adds the service's annotations to an encoded event (message-bytes.ts splices; a baseline re-encodes). */
export type EventStamper = (message: Buffer, stamp: EventStamp) => StampedEvent;

export interface PartitionProperties {
  beginSequenceNumber: number;
  lastSequenceNumber: number;
  lastOffset: number;
  lastEnqueuedTimeMs: number;
  isEmpty: boolean;
}

export class PartitionLog {
  readonly id: string;
  private readonly retention: Retention;
  private readonly stamp: EventStamper;
  private readonly file: PartitionFile | undefined;
  /** Retained events are `events[head..]`; the prefix is garbage awaiting compaction. */
  private events: StoredEvent[];
  private head = 0;
  private nextSequenceNumber: number;
  private nextOffset: number;
  private lastEnqueuedTimeMs: number;
  /** Offset of the last event ever appended (-1 before the first), kept when retention drops it. */
  private lastOffset: number;
  private readonly listeners = new Set<() => void>();
  /** Events retention dropped that the partition file still holds. */
  private droppedFromFile = 0;

  constructor(
    id: string,
    retention: Retention,
    stamp: EventStamper = stampEvent,
    file?: PartitionFile,
    loaded: StoredEvent[] = [],
    end?: LogEnd,
  ) {
    this.id = id;
    this.retention = retention;
    this.stamp = stamp;
    this.file = file;
    this.events = loaded;
    const last = loaded.at(-1);
    this.nextSequenceNumber = last ? last.sequenceNumber + 1 : (end?.lastSequenceNumber ?? -1) + 1;
    this.nextOffset = last ? last.offset + last.bytes.length : (end?.nextOffset ?? 0);
    this.lastEnqueuedTimeMs = last ? last.enqueuedTimeMs : (end?.lastEnqueuedTimeMs ?? 0);
    this.lastOffset = last ? last.offset : (end?.lastOffset ?? -1);
    this.applyRetention();
    this.compactFile();
  }

  size(): number {
    return this.events.length - this.head;
  }

  /** Stamps and appends encoded events (one send); returns the new events. */
  append(messages: readonly Buffer[], partitionKey: string | undefined): StoredEvent[] {
    // Enqueued times never go backwards, so time-based start positions can binary-search.
    const enqueuedTimeMs = Math.max(Date.now(), this.lastEnqueuedTimeMs);
    const added: StoredEvent[] = new Array<StoredEvent>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const stamped = this.stamp(messages[i]!, {
        sequenceNumber: this.nextSequenceNumber,
        offset: this.nextOffset,
        enqueuedTimeMs,
        partitionKey,
      });
      const event: StoredEvent = {
        sequenceNumber: this.nextSequenceNumber,
        offset: this.nextOffset,
        enqueuedTimeMs,
        bytes: stamped.bytes,
        headerLength: stamped.headerLength,
      };
      this.lastOffset = this.nextOffset;
      this.nextSequenceNumber++;
      this.nextOffset += stamped.bytes.length;
      added[i] = event;
      this.events.push(event);
    }
    this.lastEnqueuedTimeMs = enqueuedTimeMs;
    this.file?.append(added);
    this.applyRetention();
    for (const listener of this.listeners) listener();
    return added;
  }

  /** The event with this sequence number, if it is retained. */
  eventAt(sequenceNumber: number): StoredEvent | undefined {
    const first = this.events[this.head];
    if (!first) return undefined;
    return this.events[this.head + (sequenceNumber - first.sequenceNumber)];
  }

  /** The sequence number of the first retained event (or of the next one, when none is retained). */
  firstSequenceNumber(): number {
    return this.events[this.head]?.sequenceNumber ?? this.nextSequenceNumber;
  }

  /** The sequence number of the first event a receiver starting at `position` gets. */
  startSequenceNumber(position: StartPosition): number {
    this.applyRetention();
    const first = this.firstSequenceNumber();
    switch (position.kind) {
      case "earliest":
        return first;
      case "latest":
        return this.nextSequenceNumber;
      case "sequenceNumber": {
        const start = position.inclusive ? position.sequenceNumber : position.sequenceNumber + 1;
        return Math.min(Math.max(start, first), this.nextSequenceNumber);
      }
      case "offset":
        return this.firstWhere((event) =>
          position.inclusive ? event.offset >= position.offset : event.offset > position.offset,
        );
      case "enqueuedTime":
        return this.firstWhere((event) =>
          position.inclusive
            ? event.enqueuedTimeMs >= position.enqueuedTimeMs
            : event.enqueuedTimeMs > position.enqueuedTimeMs,
        );
    }
  }

  properties(): PartitionProperties {
    this.applyRetention();
    return {
      beginSequenceNumber: this.firstSequenceNumber(),
      lastSequenceNumber: this.nextSequenceNumber - 1,
      lastOffset: this.lastOffset,
      lastEnqueuedTimeMs: this.lastEnqueuedTimeMs,
      isEmpty: this.size() === 0,
    };
  }

  /** Calls `listener` after every append (receivers pump from it). */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops events beyond the retention limits; returns how many were dropped. */
  applyRetention(nowMs = Date.now()): number {
    const { maxEvents, maxAgeMs } = this.retention;
    const before = this.head;
    if (maxEvents !== undefined && this.size() > maxEvents) this.head = this.events.length - maxEvents;
    if (maxAgeMs !== undefined) {
      const oldest = nowMs - maxAgeMs;
      while (this.head < this.events.length && this.events[this.head]!.enqueuedTimeMs < oldest) this.head++;
    }
    const dropped = this.head - before;
    this.droppedFromFile += dropped;
    if (this.head > 4096 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  /** Rewrites the partition file without the events retention dropped (done at start and close). */
  compactFile(): void {
    if (!this.file || this.droppedFromFile === 0) return;
    this.file.rewrite(this.retained(), {
      lastSequenceNumber: this.nextSequenceNumber - 1,
      lastOffset: this.lastOffset,
      nextOffset: this.nextOffset,
      lastEnqueuedTimeMs: this.lastEnqueuedTimeMs,
    });
    this.droppedFromFile = 0;
  }

  close(): void {
    this.listeners.clear();
    this.file?.close();
  }

  private retained(): StoredEvent[] {
    return this.events.slice(this.head);
  }

  /** Binary search for the first retained event matching a monotonic predicate. */
  private firstWhere(matches: (event: StoredEvent) => boolean): number {
    let low = this.head;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (matches(this.events[mid]!)) high = mid;
      else low = mid + 1;
    }
    return this.events[low]?.sequenceNumber ?? this.nextSequenceNumber;
  }
}
