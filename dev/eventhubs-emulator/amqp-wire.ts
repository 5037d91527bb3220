// What the emulator's AMQP connections send and accept, beyond rhea's defaults, to match the service on the wire.
//
// rhea is a correct AMQP 1.0 implementation, but clients written against Event Hubs (the Python SDK's pure-Python
// AMQP stack, Qpid Proton, go-amqp) expect what the service does: every performative field present, a sender and a
// receiver allowed the same link name, and single messages stored byte for byte. These patches apply to the
// server's own connections only (never to rhea's prototypes, which the SDK in the same process shares).
import type { Socket } from "node:net";
import type { Connection, Receiver } from "rhea";

/** The service's OPEN: the SDKs read all three (frame size and channels to plan, idle timeout for heartbeats). */
export const OPEN_LIMITS = {
  max_frame_size: 65536,
  channel_max: 4999,
  idle_time_out: 120_000,
};

/** The service's BEGIN handle-max. */
const SESSION_HANDLE_MAX = 255;

/** Field counts of each performative (AMQP 1.0 §2.7), by descriptor code. */
const PERFORMATIVE_FIELDS: Record<number, number> = {
  0x10: 10, // open
  0x11: 8, // begin
  0x12: 14, // attach
  0x13: 11, // flow
  0x14: 11, // transfer
  0x15: 6, // disposition
  0x16: 3, // detach
  0x17: 1, // end
  0x18: 1, // close
};

interface Performative {
  value: unknown[];
  constructor: { descriptor?: { numeric?: number } };
}

interface LinkLike {
  name: string;
  is_sender(): boolean;
  on_attach(frame: unknown): void;
  remote: { handle?: number; attach?: unknown };
  local: { handle: number };
}

interface AttachFrame {
  performative: { name: string; role: boolean; handle: number };
}

interface TransferFrame {
  performative: { message_format?: number };
}

interface SessionInternals {
  links: Record<string, LinkLike>;
  local: { begin: { handle_max?: number }; handles: Record<number, LinkLike | undefined> };
  remote: { handles: Record<number, LinkLike | undefined> };
  incoming: { on_transfer(frame: TransferFrame, receiver: Receiver): void };
  create_sender(name: string): LinkLike;
  create_receiver(name: string): LinkLike;
  create_link(name: string, constructor: new (...args: unknown[]) => LinkLike, options: unknown): LinkLike;
  on_attach(frame: AttachFrame): void;
  remove_link(link: LinkLike): void;
}

interface ConnectionInternals {
  heartbeat_in?: NodeJS.Timeout;
  heartbeat_out?: NodeJS.Timeout;
  output(): void;
  socket?: Socket;
  _write_frame(channel: number, frame: Performative | undefined, payload?: Buffer): void;
  create_session(...args: unknown[]): SessionInternals;
}

/** Message format that tells rhea to hand a delivery over undecoded (any format but 0 is left alone). */
export const RAW_SINGLE_FORMAT = -1;

const rawReceivers = new WeakSet<Receiver>();

/** Deliveries on this link reach the 'message' handler as the sender's bytes (`context.message` is a Buffer). */
export function receiveRaw(receiver: Receiver): void {
  rawReceivers.add(receiver);
}

/** A copy of the performative with every field present (null where rhea would have left it out). */
function padded(frame: Performative): Performative {
  const count = PERFORMATIVE_FIELDS[frame.constructor.descriptor?.numeric ?? -1];
  if (count === undefined) return frame;
  const copy = Object.create(Object.getPrototypeOf(frame) as object) as Performative;
  copy.value = Array.from({ length: Math.max(count, frame.value.length) }, (_, i) => frame.value[i] ?? null);
  return copy;
}

const linkKey = (name: string, sender: boolean) => `${sender ? "sender" : "receiver"}:${name}`;

/** rhea keys a session's links by name alone; AMQP names are unique per direction, so key by both. */
function conformSession(session: SessionInternals): void {
  // The service states its handle limit; clients compare against it.
  session.local.begin.handle_max = SESSION_HANDLE_MAX;
  session.create_link = function (name, constructor, options) {
    let handle = 0;
    while (this.local.handles[handle]) handle++;
    const link = new constructor(this, name, handle, options);
    this.links[linkKey(name, link.is_sender())] = link;
    this.local.handles[handle] = link;
    return link;
  };
  session.on_attach = function (frame) {
    const { name, role, handle } = frame.performative;
    // role true: the peer receives, so this end is the sender.
    const link =
      this.links[linkKey(name, role)] ?? (role ? this.create_sender(name) : this.create_receiver(name));
    this.remote.handles[handle] = link;
    link.on_attach(frame);
    link.remote.attach = frame.performative;
  };
  session.remove_link = function (link) {
    if (link.remote.handle !== undefined) delete this.remote.handles[link.remote.handle];
    delete this.local.handles[link.local.handle];
    delete this.links[linkKey(link.name, link.is_sender())];
  };
  const incoming = session.incoming;
  const onTransfer = incoming.on_transfer.bind(incoming);
  incoming.on_transfer = (frame, receiver) => {
    // rhea decodes format-0 messages and the emulator would have to re-encode them, losing their AMQP types.
    if (rawReceivers.has(receiver) && (frame.performative.message_format ?? 0) === 0) {
      frame.performative.message_format = RAW_SINGLE_FORMAT;
    }
    onTransfer(frame, receiver);
  };
}

/** Applies the patches above to one server connection; call it when the connection opens, before BEGIN. */
export function conformConnection(connection: Connection): void {
  const internals = connection as unknown as ConnectionInternals;
  const writeFrame = internals._write_frame.bind(internals);
  internals._write_frame = (channel, frame, payload) =>
    writeFrame(channel, frame === undefined ? undefined : padded(frame), payload);
  // Heartbeat timers (armed by the idle timeout in OPEN_LIMITS) must not keep a process alive on their own: rhea
  // can re-arm them after the socket is gone, and the listening socket keeps the emulator running anyway.
  const unrefHeartbeats = () => {
    internals.heartbeat_in?.unref();
    internals.heartbeat_out?.unref();
  };
  const output = internals.output.bind(internals);
  internals.output = () => {
    output();
    unrefHeartbeats();
  };
  // rhea re-arms heartbeat_in on every read (its 'data' listener is bound already: listen after it).
  internals.socket?.on("data", unrefHeartbeats);
  const createSession = internals.create_session.bind(internals);
  internals.create_session = (...args: unknown[]) => {
    const session = createSession(...args);
    conformSession(session);
    return session;
  };
}
