// The one lifecycle every long-running component shares (SqsWorker, OutboxRelay, the composed DeviceIngest): the
// role's composition root starts it, registers its readiness checks on the management server, and stops it on
// SIGTERM within the shutdown budget.
import type { ReadinessCheck } from "./management-server.ts";

export interface Component {
  /** Starts the work loop (returns at once; the work runs in the background). */
  start(): void;
  /** Stops intake, finishes or releases in-flight work; the same promise on repeat calls. */
  stop(): Promise<void>;
  /** What /readyz checks for this component: its work loop and its dependencies. */
  readinessChecks(): ReadinessCheck[];
}
