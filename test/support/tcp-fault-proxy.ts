// A TCP proxy in front of an emulator that can be taken down and brought back (an outage without losing its
// data), add network latency (a cloud-like round trip to a server on this machine), or black-hole the traffic
// (connections accepted, nothing ever answered: a hung endpoint, a dropping firewall).
import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpFaultProxyOptions {
  /** Added to every chunk in each direction, so a request/response round trip grows by twice this. */
  oneWayDelayMs?: number;
}

export class TcpFaultProxy {
  readonly #targetPort: number;
  readonly #delayMs: number;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;
  outages = 0;
  /** While true, bytes from clients are swallowed: nothing reaches the server, nothing comes back. */
  #blackHoled = false;

  constructor(targetPort: number, options: TcpFaultProxyOptions = {}) {
    this.#targetPort = targetPort;
    this.#delayMs = options.oneWayDelayMs ?? 0;
  }

  /** Starts listening (port 0 picks a free port the first time; later starts reuse it). */
  async up(): Promise<void> {
    // No Nagle on either side: small writes held back for delayed ACKs would add ~40 ms the servers never cost.
    const server = createServer({ noDelay: true }, (client) => {
      if (this.#blackHoled) {
        this.#sockets.add(client);
        client.on("close", () => this.#sockets.delete(client));
        client.on("error", () => client.destroy());
        client.resume(); // read and drop, never answer
        return;
      }
      const upstream = connect({ port: this.#targetPort, host: "127.0.0.1", noDelay: true });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      if (this.#delayMs > 0) {
        this.#forwardLater(client, upstream);
        this.#forwardLater(upstream, client);
      } else client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (typeof address === "object" && address) this.port = address.port;
    this.#server = server;
  }

  /** Forwards each chunk after the delay; timers of one duration fire in order, so the byte order holds. */
  #forwardLater(from: Socket, to: Socket): void {
    from.on("data", (chunk: Buffer) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, this.#delayMs);
    });
    from.on("end", () => setTimeout(() => to.end(), this.#delayMs));
  }

  /**
   * From now on connections are accepted and never answered; open connections are cut from the server (their
   * requests hang too). `restore()` ends it.
   */
  blackHole(): void {
    this.#blackHoled = true;
    for (const socket of this.#sockets) {
      socket.unpipe();
      socket.removeAllListeners("data");
      socket.resume();
    }
  }

  restore(): void {
    this.#blackHoled = false;
  }

  /** Refuses new connections and resets open ones, as a stopped server would. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    // A socket whose write side is already shutting down (the peer closed and the proxy passed the close on) cannot
    // be reset: Node's resetAndDestroy() then fails with EINVAL yet marks the handle closing without closing it,
    // and the process spins forever at exit waiting for it (seen: a test file at ~80% CPU for minutes after its last
    // test). Those are closed plainly; the peer has closed anyway.
    for (const socket of this.#sockets) {
      if (socket.writableEnded) socket.destroy();
      else socket.resetAndDestroy();
    }
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.outages += 1;
  }

  async close(): Promise<void> {
    if (this.#server) await this.down();
  }
}
