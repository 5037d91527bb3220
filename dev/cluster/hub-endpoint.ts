// KEDA and our worker must name the Event Hubs namespace the same way, or KEDA never finds the worker's checkpoints:
// KEDA 2.16's blobMetadata path is `<Endpoint host[:port]>/<hub>/<group>/checkpoint/<p>` (the connection string's
// endpoint as written), while @azure/eventhubs-checkpointstore-blob writes `<host>/...` (no port). On Azure neither
// has a port; on an emulator the hub must therefore be reached on the AMQP default port 5672, with no port written.
import { randomInt } from "node:crypto";
import { forwardTcp } from "./tcp-forward.ts";

export const AMQP_PORT = 5672;

/** The connection string with `sb://host:5672` written as `sb://host` (the same endpoint, KEDA's way of naming it). */
export function withoutDefaultPort(connectionString: string): string {
  return connectionString.replace(/(Endpoint=sb:\/\/[^;/:]+):5672\/?;/i, "$1;");
}

export interface HubAlias {
  /** The emulator's connection string pointed at the alias, with no port. */
  connectionString: string;
  close(): Promise<void>;
}

/**
 * Forwards <random 127.x.y.z>:5672 to the emulator's own port, so that KEDA and the worker both see the hub on the
 * default port (another loopback address, since 127.0.0.1:5672 may belong to someone's `make dev`).
 */
export async function aliasHubOnDefaultPort(connectionString: string): Promise<HubAlias> {
  const match = /Endpoint=sb:\/\/([^;/:]+):(\d+)/i.exec(connectionString);
  // Already on the default port (the stack may listen on 127.x.y.z:5672 itself): nothing to forward.
  if (!match) return { connectionString, close: () => Promise.resolve() };
  const target = Number(match[2]);
  for (let attempt = 0; ; attempt++) {
    const host = `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    const forward = await forwardTcp(host, AMQP_PORT, match[1]!, target);
    if (forward) {
      return {
        connectionString: connectionString.replace(match[0], `Endpoint=sb://${host}`),
        close: () => forward.close(),
      };
    }
    if (attempt >= 5)
      throw new Error(`could not listen on any 127.x.y.z:${AMQP_PORT} for the Event Hubs alias`);
  }
}
