// Writes stored events to a receiving peer as pre-settled transfer frames, many per socket write.
//
// rhea builds a delivery object, a performative and a frame buffer per event, and writes each frame
// on its own. For a link that only ever sends small pre-settled events that is most of the
// emulator's CPU. This writer encodes the 38-byte transfer header itself and keeps rhea's session
// and link counters exactly as rhea's own send would, so rhea stays in charge of everything else
// (flow, detach, large events that need several frames).
import type { Socket } from "node:net";
import type { Sender } from "rhea";

/** The rhea internals this writer reads and advances (rhea's typings leave them out). */
interface EndpointState {
  /** Opens asked for and not yet written (rhea writes them on its next tick). */
  open_requests: number;
}
interface SenderInternals {
  state: EndpointState;
  credit: number;
  delivery_count: number;
  local: { handle: number };
  session: {
    state: EndpointState;
    local: { channel: number };
    outgoing: {
      next_delivery_id: number;
      next_pending_delivery: number;
      next_transfer_id: number;
      window: number;
      transfer_window(): number;
    };
  };
  /** `max_frame_size` is the peer's; null or absent when it set none (no limit). */
  connection: { state: EndpointState; socket?: Socket; max_frame_size?: number | null };
}

/**
 * Frame header (8) + transfer descriptor (3) + list8 header (3) + eleven fields (24): the service sends all of a
 * transfer's fields, and some clients index into them.
 */
const HEADER_LENGTH = 38;

export class TransferWriter {
  private readonly link: SenderInternals;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(sender: Sender) {
    this.link = sender as unknown as SenderInternals;
  }

  /** Whether this link's ATTACH, its session's BEGIN and the connection's OPEN are on the wire already. */
  attached(): boolean {
    const link = this.link;
    return (
      link.state.open_requests === 0 &&
      link.session.state.open_requests === 0 &&
      link.connection.state.open_requests === 0
    );
  }

  /** Whether an event of this size fits in one frame (else rhea must split it). */
  fits(payloadLength: number): boolean {
    const max = this.link.connection.max_frame_size;
    return typeof max !== "number" || HEADER_LENGTH + payloadLength <= max;
  }

  /**
   * Whether one more transfer may go now: link credit, the peer's session window, and none of
   * rhea's own deliveries still queued ahead (delivery ids must stay in order).
   */
  canSend(): boolean {
    const outgoing = this.link.session.outgoing;
    return (
      this.link.credit > 0 &&
      outgoing.transfer_window() > 0 &&
      outgoing.next_pending_delivery === outgoing.next_delivery_id &&
      this.link.connection.socket !== undefined
    );
  }

  /** Whether sending stopped on the session window while the link still had credit. */
  blockedByWindow(): boolean {
    return this.link.credit > 0 && this.link.session.outgoing.transfer_window() <= 0;
  }

  /** Queues one pre-settled transfer of `payload` (check `canSend` and `fits` first). */
  add(payload: Buffer): void {
    const link = this.link;
    const outgoing = link.session.outgoing;
    const deliveryId = outgoing.next_delivery_id >>> 0;
    const frame = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
    frame.writeUInt32BE(frame.length, 0);
    frame[4] = 2; // data offset, in 4-byte words
    frame[5] = 0; // AMQP frame
    frame.writeUInt16BE(link.session.local.channel, 6);
    frame[8] = 0x00; // described: transfer (0x14)
    frame[9] = 0x53;
    frame[10] = 0x14;
    frame[11] = 0xc0; // list8: size, count
    frame[12] = 25;
    frame[13] = 11;
    frame[14] = 0x70; // handle
    frame.writeUInt32BE(link.local.handle, 15);
    frame[19] = 0x70; // delivery-id
    frame.writeUInt32BE(deliveryId, 20);
    frame[24] = 0xa0; // delivery-tag: the delivery id's 4 bytes
    frame[25] = 4;
    frame.writeUInt32BE(deliveryId, 26);
    frame[30] = 0x43; // message-format 0
    frame[31] = 0x41; // settled: true
    frame[32] = 0x42; // more: false
    frame.fill(0x40, 33, 38); // rcv-settle-mode, state, resume, aborted, batchable: null
    payload.copy(frame, HEADER_LENGTH);
    // The same bookkeeping as rhea's Outgoing.send + Outgoing.process for a settled delivery.
    outgoing.next_delivery_id++;
    outgoing.next_pending_delivery++;
    outgoing.next_transfer_id++;
    outgoing.window--;
    link.credit--;
    link.delivery_count++;
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  /** Writes the queued frames with one socket write. */
  flush(): void {
    if (this.pending.length === 0) return;
    const data =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.link.connection.socket?.write(data);
  }
}
