// Event Hubs emulator: an AMQP 1.0 server that the real @azure/event-hubs SDK uses as Event Hubs (dev/test only).
import { EventHubsAmqpServer } from "./amqp-server.ts";
import { EventHub } from "./event-hub.ts";
import { endpointFor } from "./loopback-endpoint.ts";
import { stampEvent } from "./message-bytes.ts";
import { reencodeEvent } from "./message-reencode.ts";
import { DEFAULT_SAS_KEY, resolveOptions, SAS_KEY_NAME } from "./options.ts";
import type { EventHubsEmulatorOptions } from "./options.ts";

export type { EventHubsEmulatorOptions } from "./options.ts";
export { EmulatorOptionsError } from "./options.ts";
export { AMQP_PORT, freeLoopbackHost } from "./loopback-endpoint.ts";

export interface EventHubsEmulator {
  /** The bound TCP port (the one asked for, or a free one for port 0). */
  port: number;
  /**
   * A connection string for the SDKs (`UseDevelopmentEmulator=true`: plain AMQP, no TLS). On port 5672 its endpoint
   * names no port, so every SDK names the namespace alike (loopback-endpoint.ts).
   */
  connectionString(hub: string): string;
  /** Stops listening, disconnects clients and closes the partition files. */
  close(): Promise<void>;
}

/** How often age-based retention runs even when nobody sends or reads. */
const RETENTION_SWEEP_MS = 1000;

export async function startEventHubsEmulator(options: EventHubsEmulatorOptions): Promise<EventHubsEmulator> {
  const resolved = resolveOptions(options);
  const hubs = new Map<string, EventHub>();
  const stamp = resolved.codec === "reencode" ? reencodeEvent : stampEvent;
  for (const hubOptions of resolved.hubs) {
    hubs.set(
      hubOptions.name.toLowerCase(),
      new EventHub(hubOptions, resolved.retention, resolved.dataDir, stamp),
    );
  }
  const server = new EventHubsAmqpServer({
    hubs,
    verifySasKey: resolved.verifySasKey,
    reencodeOnSend: resolved.codec === "reencode",
  });
  let port: number;
  try {
    port = await server.listen(resolved.port, resolved.host);
  } catch (error) {
    for (const hub of hubs.values()) hub.close();
    throw error;
  }
  const sweep =
    resolved.retention.maxAgeMs === undefined
      ? undefined
      : setInterval(() => {
          for (const hub of hubs.values()) for (const partition of hub.partitions) partition.applyRetention();
        }, RETENTION_SWEEP_MS).unref();
  const key = resolved.verifySasKey ?? DEFAULT_SAS_KEY;
  // The SDK only speaks plain AMQP to a loopback-style endpoint; a wildcard bind is reached via 127.0.0.1.
  const endpointHost = resolved.host === "0.0.0.0" || resolved.host === "::" ? "127.0.0.1" : resolved.host;
  let closing: Promise<void> | undefined;
  return {
    port,
    connectionString(hub: string): string {
      const known = hubs.get(hub.toLowerCase());
      if (!known)
        throw new Error(
          `the emulator has no hub '${hub}' (it has: ${[...hubs.values()].map((h) => h.name).join(", ")})`,
        );
      return (
        `Endpoint=${endpointFor(endpointHost, port)};SharedAccessKeyName=${SAS_KEY_NAME};SharedAccessKey=${key};` +
        `EntityPath=${known.name};UseDevelopmentEmulator=true`
      );
    },
    close(): Promise<void> {
      closing ??= (async () => {
        if (sweep) clearInterval(sweep);
        await server.close();
        for (const hub of hubs.values()) {
          if (resolved.dataDir !== undefined) for (const partition of hub.partitions) partition.compactFile();
          hub.close();
        }
      })();
      return closing;
    },
  };
}
