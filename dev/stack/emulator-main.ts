// Child-process entry for the in-process emulators (fauxqs, Cosmos): listens, prints one JSON ready line, stops on SIGTERM.
import type { AddressInfo } from "node:net";

const [kind, portArg = "0"] = process.argv.slice(2);
const port = Number(portArg);

async function start(): Promise<{ port: number; stop: () => Promise<void> }> {
  if (kind === "fauxqs") {
    const { startFauxqs } = await import("fauxqs");
    const server = await startFauxqs({ port, host: "localhost", logger: false });
    return { port: server.port, stop: () => server.stop() };
  }
  if (kind === "cosmos") {
    const { createHttpsServer } = await import("@vercel/cosmosdb-server");
    // keepAlive: the SDK reuses connections; without it every request pays a TLS handshake (~4x slower).
    const server = createHttpsServer({ keepAlive: true });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return {
      port: (server.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  throw new Error(`unknown emulator ${kind ?? "(none)"}; expected fauxqs or cosmos`);
}

const running = await start();
process.stdout.write(`${JSON.stringify({ ready: true, kind, port: running.port })}\n`);
const stop = () => {
  void running.stop().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// The launcher holds our stdin; when it dies without stopping us, stdin closes and we go too.
process.stdin.on("end", stop);
process.stdin.resume();
