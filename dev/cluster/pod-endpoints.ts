// How pods reach the emulators: each emulator listens on a loopback address (127.0.0.1, or 127.x.y.z:5672 for the
// Event Hubs emulator), which a pod — in its own network namespace — cannot reach. A TCP forwarder in this process
// listens on the pod network's gateway address (the node's own address on our bridge, reachable from every pod and
// from this machine alike) on the same port, and the emulators' endpoints are rewritten to it. One set of endpoints
// then serves the pods, KEDA and the tests, so every client names the Event Hubs namespace alike (hub-endpoint.ts).
import { canConnect } from "../stack/managed-process.ts";
import { forwardTcp, type Forward } from "./tcp-forward.ts";

/** The variables of the stack's environment that name an emulator endpoint. */
const ENDPOINT_KEYS = [
  "REDIS_URL",
  "AWS_ENDPOINT_URL",
  "STORAGE_CONNECTION_STRING",
  "COSMOS_ENDPOINT",
  "EVENTHUB_CONNECTION_STRING",
] as const;

const DEFAULT_PORTS: Record<string, number> = { sb: 5672, http: 80, https: 443, redis: 6379 };
const LOOPBACK_URL = /\b(sb|https?|redis):\/\/(127\.\d+\.\d+\.\d+|localhost)(?::(\d+))?/g;

export interface PodEndpoints {
  /** The stack's endpoint variables rewritten to the gateway (plus COSMOS_EMULATOR: it is the emulator still). */
  env: Record<string, string>;
  /** `gateway:port → host:port` per forwarder. */
  forwards: string[];
  close(): Promise<void>;
}

export async function forwardEmulatorsToPods(
  stackEnv: Record<string, string | undefined>,
  gateway: string,
): Promise<PodEndpoints> {
  const env: Record<string, string> = {};
  const targets = new Map<number, string>();
  for (const key of ENDPOINT_KEYS) {
    const value = stackEnv[key];
    if (!value) continue;
    env[key] = value.replace(LOOPBACK_URL, (_all, scheme: string, host: string, port?: string) => {
      const number = port ? Number(port) : DEFAULT_PORTS[scheme]!;
      const target = `${host}:${number}`;
      const taken = targets.get(number);
      if (taken && taken !== target)
        throw new Error(
          `two emulators on port ${number} (${taken}, ${target}): cannot forward both to ${gateway}`,
        );
      targets.set(number, target);
      return `${scheme}://${gateway}${port ? `:${port}` : ""}`;
    });
  }
  if (env.COSMOS_ENDPOINT) env.COSMOS_EMULATOR = "true";
  const opened: Forward[] = [];
  const forwards: string[] = [];
  const close = async () => void (await Promise.all(opened.map((f) => f.close())));
  for (const [port, target] of targets) {
    const [host] = target.split(":");
    const forward = await forwardTcp(gateway, port, host!, port);
    if (forward) {
      opened.push(forward);
      forwards.push(`${gateway}:${port} → ${target}`);
    } else if (await canConnect(port, gateway)) {
      // The emulator listens on every address (fauxqs binds 0.0.0.0): the pods reach it as it is.
      forwards.push(`${gateway}:${port} (the emulator listens there itself)`);
    } else {
      await close();
      throw new Error(`cannot listen on ${gateway}:${port} to forward ${target} to the pods`);
    }
  }
  return { env, forwards, close };
}
