// Port choice for the local stack: the standard port of each emulator when it is free, any free port otherwise.
import { createServer } from "node:net";

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Ports handed out in this process, so two emulators starting at once never get the same one. */
const taken = new Set<number>();

export async function choosePort(standard: number | undefined): Promise<number> {
  if (standard !== undefined && !taken.has(standard) && (await isPortFree(standard))) {
    taken.add(standard);
    return standard;
  }
  for (;;) {
    const port = await anyFreePort();
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}
