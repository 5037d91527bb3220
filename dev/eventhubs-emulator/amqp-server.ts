// The AMQP 1.0 endpoint: accepts connections and hands each link to its node ($cbs, $management, publish, receive).
import type { Server, Socket } from "node:net";
import rhea from "rhea";
import type { Connection, Container, EventContext } from "rhea";
import {
  describeLocalEnd,
  entityNotFound,
  entityPath,
  internals,
  refuse,
  unauthorized,
} from "./amqp-link.ts";
import { conformConnection, OPEN_LIMITS } from "./amqp-wire.ts";
import { onCbsRequest } from "./cbs.ts";
import { ConnectionState } from "./connection-state.ts";
import type { EventHub } from "./event-hub.ts";
import { onManagementRequest } from "./management.ts";
import { acknowledgePromptly } from "./prompt-ack.ts";
import { MAX_MESSAGE_SIZE } from "./options.ts";
import { acceptEvents } from "./publish-link.ts";
import { sendEvents } from "./receive-link.ts";

export interface AmqpServerOptions {
  hubs: ReadonlyMap<string, EventHub>;
  verifySasKey: string | undefined;
  /** Benchmark baseline: decode and re-encode every event on the way out too, through rhea's own send. */
  reencodeOnSend: boolean;
}

const PUBLISH_PATH = /^([^/]+)(?:\/Partitions\/([^/]+))?$/i;

const isRequestNode = (path: string) => path === "$cbs" || path.endsWith("$management");

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
  /** Sockets whose AMQP connection is open: past the protocol headers and SASL, where empty frames are allowed. */
  private readonly openSockets = new WeakSet<Socket>();
  private server: Server | undefined;

  constructor(options: AmqpServerOptions) {
    this.hubs = options.hubs;
    this.verifySasKey = options.verifySasKey;
    this.reencodeOnSend = options.reencodeOnSend;
    this.container = rhea.create_container({ id: "eventhubs-emulator" });
    // The SDK sends a user name without a password: SASL ANONYMOUS.
    const mechanisms = this.container.sasl_server_mechanisms as { enable_anonymous(): void };
    mechanisms.enable_anonymous();
    this.container.on("connection_open", (context: EventContext) => {
      conformConnection(context.connection);
      this.stateOf(context.connection);
      const { socket } = context.connection as unknown as { socket?: Socket };
      if (socket) this.openSockets.add(socket);
    });
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
      ...OPEN_LIMITS,
    } as Parameters<Container["listen"]>[0]);
    this.server = server;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      coalesceWrites(socket);
      acknowledgePromptly(socket, () => this.openSockets.has(socket));
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
      state = new ConnectionState();
      this.connections.set(connection, state);
    }
    return state;
  }

  private dropConnection(connection: Connection): void {
    const state = this.connections.get(connection);
    if (!state) return;
    this.connections.delete(connection);
    state.close();
  }

  /** Whether a token put on $cbs grants access to this entity (always, without --verify-sas). */
  private isAuthorized(connection: Connection, path: string): boolean {
    return this.verifySasKey === undefined || this.stateOf(connection).isGranted(path);
  }

  private hub(name: string): EventHub | undefined {
    return this.hubs.get(name.toLowerCase());
  }

  /** Links the peer sends on: $cbs and $management requests, events. */
  private onIncomingLink(context: EventContext): void {
    const receiver = context.receiver!;
    const path = entityPath(internals(receiver).remote.attach?.target?.address);
    const state = this.stateOf(context.connection);
    describeLocalEnd(receiver, MAX_MESSAGE_SIZE);
    if (path === "$cbs") {
      receiver.on("message", (ctx: EventContext) => onCbsRequest(ctx, state, this.verifySasKey));
      return;
    }
    if (path.endsWith("$management")) {
      const findHub = (name: string) => this.hub(name);
      receiver.on("message", (ctx: EventContext) =>
        onManagementRequest(ctx, state, this.verifySasKey, findHub),
      );
      return;
    }
    const match = PUBLISH_PATH.exec(path);
    const hub = match ? this.hub(match[1]!) : undefined;
    const partition = match?.[2] !== undefined ? hub?.partition(match[2]) : undefined;
    if (!hub || (match?.[2] !== undefined && !partition)) {
      refuse(receiver, entityNotFound(path));
      return;
    }
    if (!this.isAuthorized(context.connection, path)) {
      refuse(receiver, unauthorized(path));
      return;
    }
    acceptEvents(receiver, hub, partition);
  }

  /** Links the peer receives on: replies and events. */
  private onOutgoingLink(context: EventContext): void {
    const sender = context.sender!;
    const path = entityPath(internals(sender).remote.attach?.source?.address);
    const state = this.stateOf(context.connection);
    describeLocalEnd(sender, MAX_MESSAGE_SIZE);
    if (isRequestNode(path)) {
      state.addReplyLink(sender);
      return;
    }
    sendEvents(sender, {
      state,
      findHub: (name) => this.hub(name),
      isAuthorized: (entity) => this.isAuthorized(context.connection, entity),
      reencode: this.reencodeOnSend,
    });
  }
}
