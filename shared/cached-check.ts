// A readiness check that answers from its last result while a fresh one runs: a slow dependency never makes a probe
// wait (or time out), and a dependency that stops answering still fails readiness once the last answer is too old.
import { errorMessage } from "./errors.ts";
import type { ReadinessCheck } from "./management-server.ts";

export interface CachedCheckOptions {
  /** A result older than this starts a fresh check (the probe still gets the old result). Default 5000 ms. */
  refreshMs?: number;
  /** One check taking longer than this fails with "no answer within". Default 10 000 ms. */
  timeoutMs?: number;
  /**
   * A probe that finds no result yet waits this long for the first check, so the first probe after start can pass
   * (a kubelet probes readiness every few seconds: answering "still running" would cost a whole period). Kept under
   * the management server's 2 s check timeout. Default 1500 ms.
   */
  firstWaitMs?: number;
}

type Result = { ok: true; at: number } | { ok: false; at: number; error: string };

/** A cached check, which a role can also start before the first probe asks (`prime`). */
export interface CachedReadinessCheck extends ReadinessCheck {
  /**
   * Starts the first check now (once): its round trips then overlap the rest of the role's start, and the first
   * probe finds the result, or the check already on its way.
   */
  prime(): void;
}

/** Wraps `check` (a dependency call) so that /readyz reads the last result and never waits on the dependency. */
export function cachedCheck(
  name: string,
  check: () => Promise<void>,
  options: CachedCheckOptions = {},
): CachedReadinessCheck {
  const refreshMs = options.refreshMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const firstWaitMs = options.firstWaitMs ?? 1500;
  let last: Result | undefined;
  /** The check in flight, if any. */
  let running: Promise<unknown> | undefined;

  const refresh = () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    running = Promise.race([check(), timeout])
      .then(
        () => (last = { ok: true, at: Date.now() }),
        (error: unknown) => (last = { ok: false, at: Date.now(), error: errorMessage(error) || "failed" }),
      )
      .finally(() => {
        clearTimeout(timer);
        running = undefined;
      });
  };

  const report = () => {
    if (!last) throw new Error("first check still running");
    if (!last.ok) throw new Error(last.error);
  };

  return {
    name,
    prime: () => {
      if (!running && !last) refresh();
    },
    check: async () => {
      const now = Date.now();
      if (!running && (!last || now - last.at >= refreshMs)) refresh();
      if (!last && running) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          running,
          new Promise((resolve) => {
            timer = setTimeout(resolve, firstWaitMs);
            timer.unref();
          }),
        ]);
        clearTimeout(timer);
      }
      report();
    },
  };
}
