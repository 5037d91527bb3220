// Waiting for an HTTPS health endpoint of a cluster program (kube-apiserver /readyz, the others' /healthz).
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { setTimeout as delay } from "node:timers/promises";
import type { ManagedProcess } from "../stack/managed-process.ts";
import type { KeyPair } from "./pki.ts";

export interface ProbeTls {
  /** CA to verify the server with; absent: the server's self-signed certificate is accepted (health only). */
  ca?: string;
  client?: KeyPair;
}

function get(url: string, tls: ProbeTls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: tls.ca ? readFileSync(tls.ca) : undefined,
        cert: tls.client ? readFileSync(tls.client.cert) : undefined,
        key: tls.client ? readFileSync(tls.client.key) : undefined,
        rejectUnauthorized: tls.ca !== undefined,
        timeout: 5000,
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Resolves once `url` answers 200; fails early if `process` exits, with its log file named. */
export async function waitForHealthy(
  process: ManagedProcess,
  url: string,
  tls: ProbeTls,
  timeoutMs: number,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    if (!process.running) throw new Error(`${process.name} exited before it was healthy; see ${logFile}`);
    try {
      const { status, body } = await get(url, tls);
      if (status === 200) return;
      last = `${status} ${body.slice(0, 500)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${process.name} not healthy at ${url} within ${timeoutMs} ms (${last}); see ${logFile}`,
      );
    await delay(250);
  }
}
