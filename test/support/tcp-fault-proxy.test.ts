import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { after, test } from "node:test";
import { TcpFaultProxy } from "./tcp-fault-proxy.ts";

const echoSockets = new Set<Socket>();
const echo = createServer((socket) => {
  echoSockets.add(socket);
  // The proxy resets its upstream connections when it goes down.
  socket.on("error", () => undefined);
  socket.on("close", () => echoSockets.delete(socket));
  socket.pipe(socket);
});
after(() => {
  for (const socket of echoSockets) socket.destroy();
  echo.close();
});

/**
 * Writes "ping" and resolves with what is echoed back once 4 bytes arrived, or with what arrived when the
 * connection closes (TCP may split or delay the echo, so the first chunk alone proves nothing).
 */
async function roundTrip(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = connect({ port, host: "127.0.0.1" }, () => socket.write("ping"));
    socket.on("data", (c: Buffer) => {
      received += c.toString();
      if (received.length >= 4) socket.destroy();
    });
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
  });
}

test("the proxy forwards, refuses connections while down, and forwards again on the same port once up", async () => {
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  const proxy = new TcpFaultProxy((echo.address() as AddressInfo).port);
  await proxy.up();
  const port = proxy.port;
  assert.equal(await roundTrip(port), "ping");
  await proxy.down();
  await assert.rejects(roundTrip(port), /ECONNREFUSED/);
  await proxy.up();
  assert.equal(proxy.port, port);
  assert.equal(await roundTrip(port), "ping");
  await proxy.close();
});

test("a delaying proxy adds its delay in each direction and keeps the bytes in order", async () => {
  if (!echo.listening) await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  const proxy = new TcpFaultProxy((echo.address() as AddressInfo).port, { oneWayDelayMs: 40 });
  await proxy.up();
  const started = performance.now();
  assert.equal(await roundTrip(proxy.port), "ping");
  // A lower bound only: a loaded machine may add time, never take it away.
  assert.ok(performance.now() - started >= 80, "the round trip took at least two one-way delays");
  const long = Array.from({ length: 200 }, (_, i) => `chunk${i};`).join("");
  const echoed = await new Promise<string>((resolve, reject) => {
    let received = "";
    const socket = connect({ port: proxy.port, host: "127.0.0.1" }, () => {
      for (let i = 0; i < long.length; i += 37) socket.write(long.slice(i, i + 37));
    });
    socket.on("data", (c: Buffer) => {
      received += c.toString();
      if (received.length >= long.length) socket.destroy();
    });
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
  });
  assert.equal(echoed, long);
  await proxy.close();
});

test("a proxy taken down while it passes a peer's close on leaves nothing open: its process exits", async () => {
  // Before the fix the child printed "proxy down" and then spun at exit (Node waiting for a socket handle whose
  // reset had failed) until killed here.
  const child = spawn(process.execPath, [join(import.meta.dirname, "proxy-down-while-ending.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const code = await exited;
  clearTimeout(timer);
  assert.match(output, /proxy down/);
  assert.equal(
    code,
    0,
    "the process did not exit within 30 s of taking the proxy down: a socket was left open",
  );
});
