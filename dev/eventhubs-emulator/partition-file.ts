// One partition's append-only log file: records of stamped events that survive a restart.
//
// Record: u32 record length (after this field) | i64 sequence number | i64 offset |
//         i64 enqueued time (ms) | u32 header length | message bytes.
// A torn last record (crash mid-write) is cut off when the file is opened. When retention empties
// the log, `<n>.log.last.json` remembers the last event so that numbering continues after a restart.
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import type { StoredEvent } from "./partition-log.ts";

/** Where the log ended, kept beside the file for when retention dropped every event. */
export interface LogEnd {
  lastSequenceNumber: number;
  lastOffset: number;
  /** Offset the next event gets. */
  nextOffset: number;
  lastEnqueuedTimeMs: number;
}

const FIXED = 8 + 8 + 8 + 4;

export class PartitionFile {
  readonly path: string;
  private fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /** Opens (or creates) the file and returns it with the events it holds. */
  static open(path: string): { file: PartitionFile; events: StoredEvent[]; end: LogEnd | undefined } {
    const events: StoredEvent[] = [];
    const endPath = `${path}.last.json`;
    const end = existsSync(endPath) ? (JSON.parse(readFileSync(endPath, "utf8")) as LogEnd) : undefined;
    if (existsSync(path)) {
      const data = readFileSync(path);
      let pos = 0;
      while (pos + 4 <= data.length) {
        const length = data.readUInt32BE(pos);
        if (length < FIXED || pos + 4 + length > data.length) break;
        const start = pos + 4;
        const headerLength = data.readUInt32BE(start + 24);
        events.push({
          sequenceNumber: Number(data.readBigInt64BE(start)),
          offset: Number(data.readBigInt64BE(start + 8)),
          enqueuedTimeMs: Number(data.readBigInt64BE(start + 16)),
          headerLength,
          bytes: data.subarray(start + FIXED, start + length),
        });
        pos = start + length;
      }
      if (pos < data.length) truncateSync(path, pos);
    }
    return { file: new PartitionFile(path, openSync(path, "a")), events, end };
  }

  /** Appends events with one write (no fsync: this is a development tool, not a durable store). */
  append(events: readonly StoredEvent[]): void {
    writeAll(this.fd, encodeRecords(events));
  }

  /** Replaces the file's content with `events` (after retention dropped older ones). */
  rewrite(events: readonly StoredEvent[], end: LogEnd): void {
    writeFileSync(`${this.path}.last.json`, JSON.stringify(end));
    closeSync(this.fd);
    const temporary = `${this.path}.tmp`;
    const fd = openSync(temporary, "w");
    writeAll(fd, encodeRecords(events));
    closeSync(fd);
    renameSync(temporary, this.path);
    this.fd = openSync(this.path, "a");
  }

  close(): void {
    closeSync(this.fd);
  }
}

function encodeRecords(events: readonly StoredEvent[]): Buffer {
  let size = 0;
  for (const event of events) size += 4 + FIXED + event.bytes.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const event of events) {
    pos = out.writeUInt32BE(FIXED + event.bytes.length, pos);
    pos = out.writeBigInt64BE(BigInt(event.sequenceNumber), pos);
    pos = out.writeBigInt64BE(BigInt(event.offset), pos);
    pos = out.writeBigInt64BE(BigInt(event.enqueuedTimeMs), pos);
    pos = out.writeUInt32BE(event.headerLength, pos);
    pos += event.bytes.copy(out, pos);
  }
  return out;
}

function writeAll(fd: number, data: Buffer): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written);
}
