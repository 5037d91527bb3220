// Runs `eventfleet <role>` as its own process (like a pod) for tests, and waits for its /readyz.
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "./ports.ts";
import { waitFor } from "./wait.ts";
import { ROOT } from "./repo-root.ts";

export interface RoleProcess {
  readonly child: ChildProcess;
  readonly managementUrl: string;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGKILL: a crash, nothing is finished or released. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

export async function startRole(args: string[], env: Record<string, string>): Promise<RoleProcess> {
  const managementPort = await freePort();
  const child = spawn(process.execPath, ["bin/eventfleet.js", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env, MANAGEMENT_PORT: String(managementPort) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  return {
    child,
    managementUrl,
    output: () => output,
    waitReady: (timeoutMs = 30_000) =>
      waitFor(
        async () => {
          if (child.exitCode !== null)
            throw new Error(`exited with ${child.exitCode}: ${output.slice(-2000)}`);
          return (await fetch(`${managementUrl}/readyz`)).status === 200;
        },
        { timeoutMs, intervalMs: 100, description: `eventfleet ${args.join(" ")} ready` },
      ).then(() => undefined),
    kill: async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
