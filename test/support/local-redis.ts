// A throwaway redis-server on a free port for tests: started and killed by the test that needs it.
import { spawn, type ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "./ports.ts";
import { waitFor } from "./wait.ts";

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL, like a crash); `start()` brings it back on the same port, empty. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    child = proc;
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await waitFor(
        async () => {
          if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
          if (probe.status !== "ready") await probe.connect().catch(() => undefined);
          return (await probe.ping()) === "PONG";
        },
        { timeoutMs: 15_000, description: `redis-server on port ${port}` },
      );
    } finally {
      probe.disconnect();
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await exited;
  };

  await start();
  return { url, port, start, kill, stop: kill };
}
