// One batch of one partition, from received bodies to durable: valid events in Cosmos, the rest dead-lettered.
import { inCosmosSpan } from "../../shared/telemetry/device-spans.ts";
import type { DeadLetter, DeadLetterSink } from "./dead-letter-sink.ts";
import {
  deviceStateDocument,
  telemetryDocument,
  type DeviceStateDocument,
  type TelemetryDocument,
} from "./device-documents.ts";
import type { DeviceStore } from "./device-store.ts";
import { decodeDeviceEvent, type EventPosition } from "./event-decoding.ts";

export interface ReceivedBody {
  bytes: Buffer;
  position: EventPosition;
}

export interface BatchDependencies {
  store: Pick<DeviceStore, "writeTelemetry" | "updateDeviceStates">;
  deadLetters: Pick<DeadLetterSink, "send">;
  maxEventBytes: number;
  now?: () => Date;
}

export interface BatchResult {
  stored: number;
  deadLettered: DeadLetter[];
}

/**
 * Makes every event of the batch durable: telemetry upserts and device states in Cosmos for valid events,
 * dead letters for invalid ones and for documents Cosmos refuses. Resolves only when all of it is written (so the
 * caller may checkpoint the last event); throws RetryAbandonedError when `signal` aborts first.
 */
export async function ingestBatch(
  events: ReceivedBody[],
  deps: BatchDependencies,
  signal: AbortSignal,
): Promise<BatchResult> {
  const now = deps.now?.() ?? new Date();
  const decoded = events.map((e) => decodeDeviceEvent(e.bytes, e.position, deps.maxEventBytes));
  const invalid: DeadLetter[] = [];
  const telemetry: TelemetryDocument[] = [];
  const states: DeviceStateDocument[] = [];
  const sourceOf = new Map<string, ReceivedBody>();
  for (const d of decoded) {
    if (!d.valid) {
      invalid.push({ reason: d.reason, error: d.error, position: d.position, bytes: d.bytes });
      continue;
    }
    const document = telemetryDocument(d.event, d.documentId, d.position);
    telemetry.push(document);
    states.push(deviceStateDocument(d.event, d.documentId, now));
    sourceOf.set(document.id, { bytes: d.bytes, position: d.position });
  }

  const storeValid = async (): Promise<DeadLetter[]> => {
    const rejected = await inCosmosSpan("upsert", "telemetry", telemetry.length, () =>
      deps.store.writeTelemetry(telemetry, signal),
    );
    const rejectedIds = new Set(rejected.map((r) => r.document.id));
    const written = states.filter((s) => !rejectedIds.has(s.lastEventDocumentId));
    await inCosmosSpan("upsert", "devices", written.length, () =>
      deps.store.updateDeviceStates(written, signal),
    );
    return rejected.map((r) => {
      const source = sourceOf.get(r.document.id)!;
      return { reason: "cosmos_rejected", error: r.error, position: source.position, bytes: source.bytes };
    });
  };
  const [rejected] = await Promise.all([storeValid(), deps.deadLetters.send(invalid, signal)]);
  await deps.deadLetters.send(rejected, signal);
  return { stored: telemetry.length - rejected.length, deadLettered: [...invalid, ...rejected] };
}
