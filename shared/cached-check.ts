// A readiness check that answers from its last result while a fresh one runs: a slow dependency never makes a probe
// wait (or time out), and a dependency that stops answering still fails readiness once the last answer is too old.
import { errorMessage } from "./errors.ts";
import type { ReadinessCheck } from "./management-server.ts";

export interface CachedCheckOptions {
  /** A result older than this starts a fresh check (the probe still gets the old result). Default 5000 ms. */
  refreshMs?: number;
  /** One check taking longer than this fails with "no answer within". Default 10 000 ms. */
  timeoutMs?: number;
}

type Result = { ok: true; at: number } | { ok: false; at: number; error: string };

/** Wraps `check` (a dependency call) so that /readyz reads the last result and never waits on the dependency. */
export function cachedCheck(
  name: string,
  check: () => Promise<void>,
  options: CachedCheckOptions = {},
): ReadinessCheck {
  const refreshMs = options.refreshMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let last: Result | undefined;
  let running: { startedAt: number } | undefined;

  const refresh = () => {
    const startedAt = Date.now();
    running = { startedAt };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    });
    void Promise.race([check(), timeout])
      .then(
        () => (last = { ok: true, at: Date.now() }),
        (error: unknown) => (last = { ok: false, at: Date.now(), error: errorMessage(error) || "failed" }),
      )
      .finally(() => {
        clearTimeout(timer);
        running = undefined;
      });
  };

  return {
    name,
    check: () => {
      const now = Date.now();
      if (!running && (!last || now - last.at >= refreshMs)) refresh();
      if (!last) throw new Error("first check still running");
      if (!last.ok) throw new Error(last.error);
    },
  };
}
