// One namespace identity for every client: a loopback address on the AMQP port, so the endpoint names no port.
//
// The SDKs derive the namespace that prefixes checkpoint and ownership blobs from the connection string's endpoint:
// the JavaScript SDK takes the host alone (`127.0.0.1`), the Python and Go SDKs the host with its port
// (`127.0.0.1:<port>`). With a port in the endpoint, consumers of one group in different languages write under
// different prefixes and fight over partitions. Real namespaces have no port. An emulator listening on 5672 needs
// none either, and every SDK then agrees; several emulators on one machine each take their own address of
// 127.0.0.0/8 (all of it is loopback on Linux), so nobody has to edit /etc/hosts for a name.
import { randomInt } from "node:crypto";
import { createServer } from "node:net";

/** The port the SDKs use for plain AMQP when the endpoint names none (`UseDevelopmentEmulator=true`). */
export const AMQP_PORT = 5672;

const ATTEMPTS = 50;

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback address whose AMQP port is free: the first of `preferred` that is, else a random one in 127.0.0.0/8
 * (never 127.0.0.x, which `make dev` and other tools prefer).
 */
export async function freeLoopbackHost(preferred: readonly string[] = []): Promise<string> {
  for (const host of preferred) if (await canListen(host, AMQP_PORT)) return host;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const host = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    if (await canListen(host, AMQP_PORT)) return host;
  }
  throw new Error(
    `no loopback address with a free port ${AMQP_PORT} after ${ATTEMPTS} tries: is something listening on all of 127.0.0.0/8?`,
  );
}

/** The endpoint of a connection string: no port when the emulator listens on the AMQP port. */
export function endpointFor(host: string, port: number): string {
  return port === AMQP_PORT ? `sb://${host}` : `sb://${host}:${port}`;
}
