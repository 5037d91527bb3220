// Delaying TCP proxies in a child process, so a benchmark can put a cloud-like round trip between a process and a
// local server without spending the measured process's CPU on forwarding.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** Starts delaying proxies in a child process (their CPU is not the consumer's); resolves with their ports. */
export async function startLatencyProxies(
  oneWayDelayMs: number,
  targetPorts: number[],
): Promise<{ ports: number[]; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "latency-proxy-main.ts"), String(oneWayDelayMs), ...targetPorts.map(String)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
  const { ports } = JSON.parse(line) as { ports: number[] };
  return {
    ports,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * `url` through a proxy adding `roundTripMs` to every round trip (half each way), path and credentials kept; a
 * round trip of 0 gives `url` itself.
 */
export async function withRoundTrip(
  url: string,
  roundTripMs: number,
): Promise<{ url: string; stop: () => Promise<void> }> {
  if (roundTripMs === 0) return { url, stop: () => Promise.resolve() };
  const parsed = new URL(url);
  const { ports, stop } = await startLatencyProxies(roundTripMs / 2, [Number(parsed.port)]);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(ports[0]);
  return { url: parsed.toString().replace(/\/$/, ""), stop };
}
