// Run as its own process by tcp-fault-proxy.test.ts: a delaying proxy goes down in the same turn of the event loop in
// which it passes a peer's close on (its socket's write side is shutting down); the process must then exit by itself.
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { TcpFaultProxy } from "./tcp-fault-proxy.ts";

const DELAY_MS = 50;

/** Blocks the event loop (a synchronous wait), so that what is due meanwhile runs together in the next turn. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const upstreamSockets: Socket[] = [];
const upstream = createServer((socket) => {
  upstreamSockets.push(socket);
  socket.on("error", () => undefined);
});
await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
const proxy = new TcpFaultProxy((upstream.address() as AddressInfo).port, { oneWayDelayMs: DELAY_MS });
await proxy.up();
const client = connect({ port: proxy.port, host: "127.0.0.1" });
await new Promise<void>((resolve) => client.once("connect", resolve));
while (upstreamSockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));

// The client goes away (its FIN is sent at once); the proxy reads it in the next turn and schedules the end of its
// upstream socket DELAY_MS later. This check-phase callback of that same turn schedules down() after it, then
// blocks, so that both timers run back to back: the upstream socket's shutdown is still in flight when down() runs.
client.destroy();
block(100);
setImmediate(() => {
  setTimeout(() => {
    void proxy.down().then(() => {
      for (const socket of upstreamSockets) socket.destroy();
      upstream.close();
      process.stdout.write("proxy down\n");
    });
  }, DELAY_MS);
  block(DELAY_MS + 50);
});
