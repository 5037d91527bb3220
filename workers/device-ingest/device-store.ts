// Writes device events to Cosmos: telemetry documents (idempotent upserts) and each device's newest state.
import type { Container, JSONObject, OperationInput } from "@azure/cosmos";
import type { Logger } from "../../shared/logger.ts";
import { executeOperations, type OperationResult, type WriteMode } from "./cosmos-operations.ts";
import {
  describeFailure,
  isConflict,
  isPermanentCosmosWriteFailure,
  isThrottle,
  type OperationFailure,
} from "./dependency-errors.ts";
import {
  isNewerState,
  newestPerDevice,
  type DeviceStateDocument,
  type TelemetryDocument,
} from "./device-documents.ts";
import type { IngestMetrics } from "./ingest-metrics.ts";
import { backoffMs, pause, type BackoffPolicy } from "./retry-backoff.ts";

export interface DeviceStoreOptions {
  telemetry: Container;
  devices: Container;
  mode: WriteMode;
  backoff: BackoffPolicy;
  metrics: Pick<IngestMetrics, "requestCharge" | "throttles">;
  logger: Logger;
}

/** A telemetry document Cosmos refused for good (400, 413): its event goes to the dead-letter queue. */
export interface RejectedDocument {
  document: TelemetryDocument;
  error: string;
}

/** Our documents are JSON by construction (parsed from JSON bodies); the SDK's type cannot know that. */
const json = (document: TelemetryDocument | DeviceStateDocument) => document as unknown as JSONObject;

/** Conditional writes that keep losing races are re-read at once this many times before backing off. */
const CONFLICT_RETRIES_WITHOUT_PAUSE = 3;

export class DeviceStore {
  readonly #options: DeviceStoreOptions;

  constructor(options: DeviceStoreOptions) {
    this.#options = options;
  }

  #account(container: string, operation: string, results: OperationResult[]): void {
    let charge = 0;
    let throttles = 0;
    for (const r of results) {
      charge += r.requestCharge;
      if (r.failure && isThrottle(r.failure)) throttles += 1;
    }
    if (charge > 0) this.#options.metrics.requestCharge.inc({ container, operation }, charge);
    if (throttles > 0) this.#options.metrics.throttles.inc({ container }, throttles);
  }

  async #wait(
    attempt: number,
    failures: OperationFailure[],
    what: string,
    signal: AbortSignal,
  ): Promise<void> {
    const retryAfterMs = Math.max(0, ...failures.map((f) => f.retryAfterMs ?? 0)) || undefined;
    const ms = backoffMs(this.#options.backoff, attempt, retryAfterMs);
    const level = attempt >= 3 ? "warn" : "info";
    this.#options.logger[level](
      { attempt, retryInMs: ms, failed: failures.length, error: describeFailure(failures[0]!) },
      `${what} failed; retrying (the partition waits, nothing is checkpointed)`,
    );
    await pause(ms, signal);
  }

  /**
   * Upserts the documents into `telemetry` until each is stored or refused for good; retryable failures
   * (throttling, outage) are retried with backoff until `signal` aborts. Returns the refused ones.
   */
  async writeTelemetry(documents: TelemetryDocument[], signal: AbortSignal): Promise<RejectedDocument[]> {
    const rejected: RejectedDocument[] = [];
    let pending = documents;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const ops: OperationInput[] = pending.map((document) => ({
        operationType: "Upsert",
        partitionKey: document.deviceId,
        resourceBody: json(document),
      }));
      const results = await executeOperations(this.#options.telemetry, ops, this.#options.mode);
      this.#account("telemetry", "upsert", results);
      const retry: TelemetryDocument[] = [];
      const failures: OperationFailure[] = [];
      results.forEach((result, i) => {
        const document = pending[i]!;
        if (!result.failure) return;
        if (isPermanentCosmosWriteFailure(result.failure)) {
          rejected.push({ document, error: describeFailure(result.failure) });
        } else {
          retry.push(document);
          failures.push(result.failure);
        }
      });
      if (retry.length > 0) await this.#wait(attempt, failures, "telemetry upsert", signal);
      pending = retry;
    }
    return rejected;
  }

  /**
   * Makes each device's document in `devices` the newest of its current state and the given ones: read, then
   * create (absent) or replace conditional on the etag read (older), so a concurrent or late writer can never
   * put an older state over a newer one. Lost races are re-read and decided again.
   */
  async updateDeviceStates(states: DeviceStateDocument[], signal: AbortSignal): Promise<void> {
    let pending = newestPerDevice(states);
    let conflictRounds = 0;
    for (let attempt = 1; pending.length > 0;) {
      const reads = await executeOperations(
        this.#options.devices,
        pending.map((s) => ({ operationType: "Read", id: s.id, partitionKey: s.deviceId })),
        this.#options.mode,
      );
      this.#account("devices", "read", reads);
      const retry: DeviceStateDocument[] = [];
      const failures: OperationFailure[] = [];
      const writes: { state: DeviceStateDocument; op: OperationInput }[] = [];
      reads.forEach((read, i) => {
        const state = pending[i]!;
        if (read.failure?.status === 404) {
          writes.push({
            state,
            op: { operationType: "Create", partitionKey: state.deviceId, resourceBody: json(state) },
          });
        } else if (read.failure) {
          retry.push(state);
          failures.push(read.failure);
        } else if (isNewerState(state, read.resourceBody as DeviceStateDocument | undefined)) {
          writes.push({
            state,
            op: {
              operationType: "Replace",
              id: state.id,
              partitionKey: state.deviceId,
              resourceBody: json(state),
              ...(read.eTag ? { ifMatch: read.eTag } : {}),
            },
          });
        }
      });
      const results = await executeOperations(
        this.#options.devices,
        writes.map((w) => w.op),
        this.#options.mode,
      );
      this.#account("devices", "write", results);
      let conflicts = 0;
      results.forEach((result, i) => {
        const { state } = writes[i]!;
        if (!result.failure) return;
        if (isConflict(result.failure)) {
          conflicts += 1;
          retry.push(state);
        } else if (isPermanentCosmosWriteFailure(result.failure)) {
          // The event itself is in `telemetry`; only the summary could not be written. Say so, do not block.
          this.#options.logger.error(
            { deviceId: state.deviceId, error: describeFailure(result.failure) },
            "device state refused by Cosmos; the telemetry document is stored",
          );
        } else {
          retry.push(state);
          failures.push(result.failure);
        }
      });
      pending = retry;
      if (failures.length > 0) {
        await this.#wait(attempt, failures, "device state update", signal);
        attempt += 1;
      } else if (conflicts > 0 && ++conflictRounds > CONFLICT_RETRIES_WITHOUT_PAUSE) {
        await pause(
          backoffMs(this.#options.backoff, conflictRounds - CONFLICT_RETRIES_WITHOUT_PAUSE),
          signal,
        );
      }
    }
  }
}
