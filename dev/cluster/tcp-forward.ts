// A TCP forwarder in this process: connections to one address are piped to another (the Event Hubs alias on the AMQP
// default port, the emulators on the pod network's gateway).
import { connect, createServer, type Server, type Socket } from "node:net";

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  for (const s of [a, b]) s.on("error", () => (a.destroy(), b.destroy()));
}

export interface Forward {
  close(): Promise<void>;
}

/** Listens on host:port and forwards each connection to targetHost:targetPort; undefined when it cannot listen. */
export async function forwardTcp(
  host: string,
  port: number,
  targetHost: string,
  targetPort: number,
): Promise<Forward | undefined> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    }
    pipeBoth(socket, upstream);
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (!listening) return undefined;
  return {
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
