// The AMQP 1.0 endpoint: speaks CBS, $management, senders and receivers the way the Event Hubs SDK expects.
import type { Server, Socket } from "node:net";
import rhea from "rhea";
import type {
  AmqpError,
  Connection,
  Container,
  Delivery,
  EventContext,
  Message,
  Receiver,
  Sender,
} from "rhea";
import type { EventHub } from "./event-hub.ts";
import {
  encodeRuntimeInfo,
  MalformedMessageError,
  messagePartitionKey,
  PARTITION_KEY_ANNOTATION,
  splitBatch,
  withDeliveryAnnotations,
} from "./message-bytes.ts";
import { MAX_MESSAGE_SIZE } from "./options.ts";
import type { PartitionLog } from "./partition-log.ts";
import type { OwnedReceiver } from "./receiver-ownership.ts";
import { resourceCovers, verifySasToken } from "./sas-token.ts";
import { InvalidFilterError, parseStartPosition } from "./start-position.ts";
import { TransferWriter } from "./transfer-writer.ts";

/** Message format of the SDK's batches: one data section per complete encoded event. */
const BATCH_FORMAT = 0x80013700;
const SELECTOR_FILTER = "apache.org:selector-filter:string";
const EPOCH_PROPERTY = "com.microsoft:epoch";
const RUNTIME_METRIC = "com.microsoft:enable-receiver-runtime-metric";

/** The parts of rhea's link objects this server reads; rhea's typings leave them out. */
interface Terminus {
  address?: string;
  filter?: Record<string, unknown>;
}
interface AttachFrame {
  source?: Terminus | null;
  target?: Terminus | null;
  properties?: Record<string, unknown>;
  desired_capabilities?: string | string[];
  max_message_size?: number;
  snd_settle_mode?: number;
  offered_capabilities?: string | string[];
}
interface LinkInternals {
  name: string;
  remote: { attach?: AttachFrame };
  local: { attach: AttachFrame };
}

interface TokenGrant {
  resourcePath: string;
  expiresAtMs: number;
}

/** What the server keeps per AMQP connection. */
interface ConnectionState {
  /** Reply links of request/response pairs ($cbs, $management), by target address and by name. */
  replyLinks: Map<string, Sender>;
  grants: TokenGrant[];
  cleanups: Set<() => void>;
}

export interface AmqpServerOptions {
  hubs: ReadonlyMap<string, EventHub>;
  verifySasKey: string | undefined;
  /** Benchmark baseline: decode and re-encode every event on the way out too, through rhea's own send. */
  reencodeOnSend: boolean;
}

function internals(link: Sender | Receiver): LinkInternals {
  return link as unknown as LinkInternals;
}

function entityNotFound(path: string): AmqpError {
  return {
    condition: "amqp:not-found",
    description: `The messaging entity '${path}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`,
  };
}

/** An entity path without a scheme and host, e.g. `telemetry/Partitions/0`. */
function entityPath(address: string | undefined): string {
  if (!address) return "";
  const withoutScheme = address.replace(/^[a-z]+:\/\/[^/]+\//i, "");
  return withoutScheme.replace(/^\/+/, "");
}

function resourcePath(resource: string): string {
  try {
    return entityPath(new URL(resource).pathname);
  } catch {
    return entityPath(resource);
  }
}

function toArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * rhea writes every frame with its own `socket.write`, one syscall per event on a receiving link.
 * Corking the socket for the rest of the tick turns the frames written together into one writev.
 */
function coalesceWrites(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  };
}

export class EventHubsAmqpServer {
  private readonly hubs: ReadonlyMap<string, EventHub>;
  private readonly verifySasKey: string | undefined;
  private readonly reencodeOnSend: boolean;
  private readonly container: Container;
  private readonly connections = new Map<Connection, ConnectionState>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(options: AmqpServerOptions) {
    this.hubs = options.hubs;
    this.verifySasKey = options.verifySasKey;
    this.reencodeOnSend = options.reencodeOnSend;
    this.container = rhea.create_container({ id: "eventhubs-emulator" });
    // The SDK sends a user name without a password: SASL ANONYMOUS.
    const mechanisms = this.container.sasl_server_mechanisms as { enable_anonymous(): void };
    mechanisms.enable_anonymous();
    this.container.on("connection_open", (context: EventContext) => this.stateOf(context.connection));
    this.container.on("receiver_open", (context: EventContext) => this.onIncomingLink(context));
    this.container.on("sender_open", (context: EventContext) => this.onOutgoingLink(context));
    this.container.on("disconnected", (context: EventContext) => this.dropConnection(context.connection));
    this.container.on("connection_close", (context: EventContext) => this.dropConnection(context.connection));
    // Peers closing links or connections with an error are normal here; without these listeners
    // rhea would rethrow them as unhandled 'error' events.
    for (const event of ["connection_error", "session_error", "sender_error", "receiver_error", "error"]) {
      this.container.on(event, () => undefined);
    }
  }

  /** Starts listening; resolves with the bound port. */
  async listen(port: number, host: string): Promise<number> {
    const server = this.container.listen({
      port,
      host,
      // Incoming deliveries are accepted or rejected by this server, not by rhea.
      autoaccept: false,
    } as Parameters<Container["listen"]>[0]);
    this.server = server;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      coalesceWrites(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the emulator has no TCP address");
    return address.port;
  }

  /** Stops listening and destroys open connections (clients see a disconnect, not a hang). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const connection of [...this.connections.keys()]) this.dropConnection(connection);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  private stateOf(connection: Connection): ConnectionState {
    let state = this.connections.get(connection);
    if (!state) {
      state = { replyLinks: new Map(), grants: [], cleanups: new Set() };
      this.connections.set(connection, state);
    }
    return state;
  }

  private dropConnection(connection: Connection): void {
    const state = this.connections.get(connection);
    if (!state) return;
    this.connections.delete(connection);
    for (const cleanup of state.cleanups) cleanup();
    state.cleanups.clear();
  }

  private refuse(link: Sender | Receiver, error: AmqpError): void {
    const attach = internals(link).local.attach;
    // A refused attach answers with a null terminus on our side, then detaches with the error.
    if (link.is_sender()) attach.source = null;
    else attach.target = null;
    link.close(error);
  }

  /** Whether a token put on $cbs grants access to this entity (always, without --verify-sas). */
  private isAuthorized(connection: Connection, path: string): boolean {
    if (this.verifySasKey === undefined) return true;
    const now = Date.now();
    return this.stateOf(connection).grants.some(
      (grant) => grant.expiresAtMs > now && resourceCovers(grant.resourcePath, path),
    );
  }

  private hub(name: string): EventHub | undefined {
    return this.hubs.get(name.toLowerCase());
  }

  // ---- links the peer sends on: $cbs and $management requests, events --------------------------

  private onIncomingLink(context: EventContext): void {
    const receiver = context.receiver!;
    const link = internals(receiver);
    const address = link.remote.attach?.target?.address;
    const path = entityPath(address);
    receiver.set_target({ address: address ?? "" });
    receiver.set_source({ address: link.remote.attach?.source?.address ?? "" });
    if (path === "$cbs") {
      receiver.on("message", (ctx: EventContext) => this.onCbsRequest(ctx));
      return;
    }
    if (path.endsWith("$management")) {
      receiver.on("message", (ctx: EventContext) => this.onManagementRequest(ctx));
      return;
    }
    const match = /^([^/]+)(?:\/Partitions\/([^/]+))?$/i.exec(path);
    const hub = match ? this.hub(match[1]!) : undefined;
    const partition = match?.[2] !== undefined ? hub?.partition(match[2]) : undefined;
    if (!hub || (match?.[2] !== undefined && !partition)) {
      this.refuse(receiver, entityNotFound(path));
      return;
    }
    if (!this.isAuthorized(context.connection, path)) {
      this.refuse(receiver, {
        condition: "amqp:unauthorized-access",
        description: `Unauthorized access to '${path}': put a valid token on $cbs first.`,
      });
      return;
    }
    link.local.attach.max_message_size = MAX_MESSAGE_SIZE;
    receiver.on("message", (ctx: EventContext) => this.onEvents(ctx, hub, partition));
  }

  private onEvents(context: EventContext, hub: EventHub, partition: PartitionLog | undefined): void {
    const delivery = context.delivery!;
    const raw = context.message as unknown;
    const format = (context as EventContext & { format?: number }).format ?? 0;
    try {
      let events: Buffer[];
      let partitionKey: string | undefined;
      if (Buffer.isBuffer(raw)) {
        if (raw.length > MAX_MESSAGE_SIZE) return this.rejectTooLarge(delivery, raw.length);
        if (format === BATCH_FORMAT) {
          ({ events, partitionKey } = splitBatch(raw));
        } else {
          events = [raw];
          partitionKey = messagePartitionKey(raw);
        }
      } else {
        // A plain AMQP message (format 0) that rhea decoded: encode it back once.
        const message = raw as Message;
        const encoded = rhea.message.encode(message);
        if (encoded.length > MAX_MESSAGE_SIZE) return this.rejectTooLarge(delivery, encoded.length);
        events = [encoded];
        const key: unknown = message.message_annotations?.[PARTITION_KEY_ANNOTATION];
        partitionKey = typeof key === "string" ? key : undefined;
      }
      if (events.length > 0) (partition ?? hub.route(partitionKey)).append(events, partitionKey);
      delivery.accept();
    } catch (error) {
      // A bad message is the sender's problem; anything else (say, a full disk under --data-dir)
      // fails this send, not the emulator.
      const message = error instanceof Error ? error.message : String(error);
      delivery.reject({
        condition: error instanceof MalformedMessageError ? "amqp:decode-error" : "amqp:internal-error",
        description: message,
      });
    }
  }

  private rejectTooLarge(delivery: Delivery, size: number): void {
    delivery.reject({
      condition: "amqp:link:message-size-exceeded",
      description:
        `The received message (delivery-id:${delivery.id}, size:${size} bytes) exceeds the limit ` +
        `(${MAX_MESSAGE_SIZE} bytes) currently allowed on the link.`,
    });
  }

  private reply(
    context: EventContext,
    request: Message,
    status: number,
    description: string,
    body?: unknown,
  ) {
    const state = this.stateOf(context.connection);
    const replyTo = typeof request.reply_to === "string" ? request.reply_to : undefined;
    const sender = replyTo === undefined ? undefined : state.replyLinks.get(replyTo);
    if (!sender || !sender.is_open()) return;
    const response: Message = {
      correlation_id: request.message_id,
      application_properties: { "status-code": status, "status-description": description },
      body,
    };
    sender.send(response);
  }

  private onCbsRequest(context: EventContext): void {
    const request = context.message!;
    context.delivery!.accept();
    const props = request.application_properties ?? {};
    if (props.operation !== "put-token") {
      this.reply(context, request, 400, `Unsupported $cbs operation '${String(props.operation)}'.`);
      return;
    }
    const audience = typeof props.name === "string" ? props.name : "";
    const token = typeof request.body === "string" ? request.body : String(request.body);
    if (this.verifySasKey !== undefined) {
      if (props.type !== "servicebus.windows.net:sastoken") {
        this.reply(context, request, 401, "Only SAS tokens can be verified by the emulator.");
        return;
      }
      const verdict = verifySasToken(token, this.verifySasKey);
      if (!verdict.ok) {
        this.reply(context, request, 401, `InvalidSignature: ${verdict.reason}.`);
        return;
      }
      if (!resourceCovers(verdict.token.resource.toLowerCase(), audience.toLowerCase())) {
        this.reply(context, request, 401, `InvalidAudience: the token is for ${verdict.token.resource}.`);
        return;
      }
      this.stateOf(context.connection).grants.push({
        resourcePath: resourcePath(audience),
        expiresAtMs: verdict.token.expiresAt * 1000,
      });
    }
    this.reply(context, request, 202, "Accepted");
  }

  private onManagementRequest(context: EventContext): void {
    const request = context.message!;
    context.delivery!.accept();
    const props = request.application_properties ?? {};
    const name = typeof props.name === "string" ? props.name : "";
    if (props.operation !== "READ") {
      this.reply(context, request, 400, `Unsupported $management operation '${String(props.operation)}'.`);
      return;
    }
    if (this.verifySasKey !== undefined) {
      const token = typeof props.security_token === "string" ? props.security_token : "";
      const verdict = verifySasToken(token, this.verifySasKey);
      if (!verdict.ok || !resourceCovers(resourcePath(verdict.token.resource), name)) {
        this.reply(context, request, 401, `Unauthorized: ${verdict.ok ? "wrong audience" : verdict.reason}.`);
        return;
      }
    }
    const hub = this.hub(name);
    if (!hub) {
      this.reply(context, request, 404, entityNotFound(name).description!);
      return;
    }
    const types = rhea.types;
    if (props.type === "com.microsoft:eventhub") {
      this.reply(context, request, 200, "OK", {
        name: hub.name,
        created_at: types.wrap_timestamp(hub.createdAt.getTime()),
        partition_count: types.wrap_int(hub.partitions.length),
        partition_ids: types.wrap_array(
          hub.partitions.map((p) => p.id),
          0xa1,
          undefined,
        ),
      });
      return;
    }
    if (props.type === "com.microsoft:partition") {
      const partitionId = typeof props.partition === "string" ? props.partition : String(props.partition);
      const partition = hub.partition(partitionId);
      if (!partition) {
        this.reply(
          context,
          request,
          404,
          entityNotFound(`${hub.name}/Partitions/${partitionId}`).description!,
        );
        return;
      }
      const info = partition.properties();
      this.reply(context, request, 200, "OK", {
        name: hub.name,
        partition: partition.id,
        begin_sequence_number: types.wrap_long(info.beginSequenceNumber),
        last_enqueued_sequence_number: types.wrap_long(info.lastSequenceNumber),
        last_enqueued_offset: String(info.lastOffset),
        last_enqueued_time_utc: types.wrap_timestamp(info.lastEnqueuedTimeMs),
        is_partition_empty: info.isEmpty,
      });
      return;
    }
    this.reply(context, request, 400, `Unsupported $management type '${String(props.type)}'.`);
  }

  // ---- links the peer receives on: replies and events ---------------------------------------------

  private onOutgoingLink(context: EventContext): void {
    const sender = context.sender!;
    const link = internals(sender);
    const source = link.remote.attach?.source ?? undefined;
    const path = entityPath(source?.address);
    sender.set_target({ address: link.remote.attach?.target?.address ?? "" });
    if (path === "$cbs" || path.endsWith("$management")) {
      const state = this.stateOf(context.connection);
      const replyAddress = link.remote.attach?.target?.address;
      if (replyAddress) state.replyLinks.set(replyAddress, sender);
      state.replyLinks.set(link.name, sender);
      sender.set_source({ address: source?.address ?? "" });
      sender.on("sender_close", () => {
        if (replyAddress) state.replyLinks.delete(replyAddress);
        state.replyLinks.delete(link.name);
      });
      return;
    }
    sender.set_source({ address: source?.address ?? "" });
    const match = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/i.exec(path);
    const hub = match ? this.hub(match[1]!) : undefined;
    if (!match || !hub || !hub.hasConsumerGroup(match[2]!) || !hub.partition(match[3]!)) {
      this.refuse(sender, entityNotFound(path));
      return;
    }
    const consumerGroup = match[2]!;
    const partition = hub.partition(match[3]!)!;
    if (!this.isAuthorized(context.connection, path)) {
      this.refuse(sender, {
        condition: "amqp:unauthorized-access",
        description: `Unauthorized access to '${path}': put a valid token on $cbs first.`,
      });
      return;
    }
    let startSequenceNumber: number;
    try {
      // The filter value arrives still described (descriptor 0x468C00000004): take its text.
      const selector: unknown = rhea.types.unwrap(source?.filter?.[SELECTOR_FILTER], false);
      startSequenceNumber = partition.startSequenceNumber(
        parseStartPosition(typeof selector === "string" ? selector : undefined),
      );
    } catch (error) {
      if (!(error instanceof InvalidFilterError)) throw error;
      this.refuse(sender, { condition: "amqp:invalid-field", description: error.message });
      return;
    }
    const properties = link.remote.attach?.properties ?? {};
    const epoch = properties[EPOCH_PROPERTY];
    const ownerLevel =
      typeof epoch === "number" ? epoch : typeof epoch === "bigint" ? Number(epoch) : undefined;
    const desired = toArray(link.remote.attach?.desired_capabilities);
    const runtimeMetrics = desired.includes(RUNTIME_METRIC) || properties[RUNTIME_METRIC] === true;
    if (runtimeMetrics) link.local.attach.offered_capabilities = [RUNTIME_METRIC];
    // Events go out pre-settled: the SDK's receiver accepts them anyway and there is nothing to redeliver.
    link.local.attach.snd_settle_mode = 1;

    const consumer = new PartitionConsumer(sender, partition, startSequenceNumber, {
      runtimeMetrics,
      ownerLevel,
      reencode: this.reencodeOnSend,
    });
    const ownership = hub.receiversOf(consumerGroup, partition.id);
    const verdict = ownership.admit(consumer);
    if (!verdict.admitted) {
      this.refuse(sender, { condition: verdict.condition, description: verdict.description });
      return;
    }
    const state = this.stateOf(context.connection);
    const release = () => {
      consumer.stop();
      ownership.release(consumer);
      state.cleanups.delete(release);
    };
    state.cleanups.add(release);
    sender.on("sender_close", release);
    sender.on("session_close", release);
    sender.on("sendable", () => consumer.pump());
    consumer.start();
  }
}

/** One receiver link reading a partition: sends events while the peer gives credit. */
class PartitionConsumer implements OwnedReceiver {
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
    options: { runtimeMetrics: boolean; ownerLevel: number | undefined; reencode: boolean },
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
    this.sender.close({ condition, description });
  }

  pump(): void {
    if (this.stopped) return;
    const sender = this.sender;
    const writer = this.writer;
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
    // rhea writes its delivery on the next tick; the peer's session window reopens without a
    // link flow (no 'sendable'): in both cases look again shortly.
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
