// Device traffic for demos and load: valid telemetry from N devices at a steady rate, optionally with invalid events.
import { randomUUID } from "node:crypto";
import type { EventData, EventHubProducerClient } from "@azure/event-hubs";

export interface SimulateDevicesOptions {
  producer: Pick<EventHubProducerClient, "createBatch" | "sendBatch">;
  devices: number;
  /** Events per second, across all devices. */
  rate: number;
  /** Stop after this many events... */
  count?: number;
  /** ...or after this long (whichever is given; count wins when both are). */
  durationMs?: number;
  /** Share of events that are deliberately invalid (bad JSON, schema violation, no deviceId), 0-1. */
  invalidRatio?: number;
  /** Device ids are `<prefix>-<n>`. Default `sim`. */
  prefix?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DeviceSimulationProgress) => void;
  random?: () => number;
}

export interface DeviceSimulationProgress {
  sent: number;
  invalid: number;
  errors: number;
  lastError?: string;
  elapsedMs: number;
  /** The planned total (count, or rate × duration). */
  total: number;
}

/** How often the pacer wakes up; each tick sends what the rate allows since the start. */
const TICK_MS = 100;
/** Batches in flight at once (one per device with events in the tick). */
const SEND_CONCURRENCY = 8;

const INVALID_KINDS = ["invalid_json", "schema_invalid", "missing_device_id"] as const;

function deviceEvent(deviceId: string, random: () => number): Record<string, unknown> {
  const roll = random();
  const type = roll < 0.9 ? "telemetry" : roll < 0.98 ? "status" : "alert";
  return {
    deviceId,
    eventId: randomUUID(),
    type,
    ts: new Date().toISOString(),
    payload:
      type === "telemetry"
        ? {
            temperatureC: Math.round((18 + random() * 10) * 10) / 10,
            humidityPct: Math.round(30 + random() * 40),
            batteryPct: Math.round(20 + random() * 80),
          }
        : type === "status"
          ? { online: true, firmware: "1.4.2" }
          : { code: "TEMP_HIGH", severity: "warning" },
  };
}

function invalidBody(kind: (typeof INVALID_KINDS)[number], deviceId: string): string {
  switch (kind) {
    case "invalid_json":
      return `{"deviceId":"${deviceId}","type":"telemetry","payload":{`;
    case "schema_invalid":
      return JSON.stringify({ deviceId, type: "smoke-signal", ts: "yesterday", payload: [] });
    case "missing_device_id":
      return JSON.stringify({ type: "telemetry", ts: new Date().toISOString(), payload: {} });
  }
}

/** Sends one tick's events, one batch per device (partition key = deviceId), a few in parallel. */
async function sendGrouped(
  producer: SimulateDevicesOptions["producer"],
  groups: Map<string, EventData[]>,
  progress: DeviceSimulationProgress,
): Promise<void> {
  const entries = [...groups];
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [partitionKey, events] = entries[next++]!;
      try {
        let batch = await producer.createBatch({ partitionKey });
        for (const event of events) {
          if (!batch.tryAdd(event)) {
            await producer.sendBatch(batch);
            progress.sent += batch.count;
            batch = await producer.createBatch({ partitionKey });
            batch.tryAdd(event);
          }
        }
        await producer.sendBatch(batch);
        progress.sent += batch.count;
      } catch (error) {
        progress.errors += events.length;
        progress.lastError = error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, entries.length) }, worker));
}

export async function simulateDevices(options: SimulateDevicesOptions): Promise<DeviceSimulationProgress> {
  const random = options.random ?? Math.random;
  const prefix = options.prefix ?? "sim";
  const invalidRatio = options.invalidRatio ?? 0;
  const total =
    options.count ?? Math.max(1, Math.round((options.rate * (options.durationMs ?? 10_000)) / 1000));
  const started = Date.now();
  const progress: DeviceSimulationProgress = { sent: 0, invalid: 0, errors: 0, elapsedMs: 0, total };
  let generated = 0;
  let device = 0;
  let invalidKind = 0;
  while (generated < total && !options.signal?.aborted) {
    const due = Math.min(total, Math.floor(((Date.now() - started) * options.rate) / 1000) + 1);
    const groups = new Map<string, EventData[]>();
    for (; generated < due; generated += 1) {
      const deviceId = `${prefix}-${device++ % options.devices}`;
      let body: string;
      if (invalidRatio > 0 && random() < invalidRatio) {
        body = invalidBody(INVALID_KINDS[invalidKind++ % INVALID_KINDS.length]!, deviceId);
        progress.invalid += 1;
      } else {
        body = JSON.stringify(deviceEvent(deviceId, random));
      }
      const list = groups.get(deviceId) ?? [];
      list.push({ body: Buffer.from(body, "utf8"), contentType: "application/json" });
      groups.set(deviceId, list);
    }
    await sendGrouped(options.producer, groups, progress);
    progress.elapsedMs = Date.now() - started;
    options.onProgress?.({ ...progress });
    if (generated < total) {
      const nextDueAt = started + ((generated + 1) * 1000) / options.rate;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Math.min(TICK_MS, nextDueAt - Date.now()))),
      );
    }
  }
  progress.elapsedMs = Date.now() - started;
  return progress;
}
