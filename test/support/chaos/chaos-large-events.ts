// Large events under a memory limit: a backlog of large device events drained by one replica while Cosmos is slow;
// its resident memory is sampled throughout and must stay under the limit its batch size and prefetch derive from.
import { setTimeout as delay } from "node:timers/promises";
import { DeviceTestProbe, deviceTestEnv, startHub } from "../device-fixture.ts";
import { RoleRunner } from "../role-runner.ts";
import { TcpFaultProxy } from "../tcp-fault-proxy.ts";
import { FaultLog, type ChaosResult, type InvariantResult } from "./chaos-report.ts";

export interface LargeEventsOptions {
  events: number;
  eventBytes: number;
  partitions: number;
  /** DEVICE_INGEST_MEMORY_LIMIT_BYTES (a pod's limit); undefined runs without one (batch 500, one batch ahead). */
  memoryLimitBytes: number | undefined;
  /** One-way delay added to every Cosmos call. */
  slowCosmosOneWayMs: number;
  drainTimeoutMs: number;
  progress?: (line: string) => void;
}

const MiB = 1024 * 1024;

function largeEvent(prefix: string, index: number, bytes: number) {
  const deviceId = `${prefix}-d${index % 16}`;
  const body = {
    deviceId,
    eventId: `${prefix}-e${index}`,
    type: "telemetry",
    ts: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    payload: { i: index, blob: "x".repeat(Math.max(0, bytes - 200)) },
  };
  return { partitionKey: deviceId, body, id: `${deviceId}:${prefix}-e${index}` };
}

export async function runLargeEventsChaos(options: LargeEventsOptions): Promise<ChaosResult> {
  const say = options.progress ?? (() => undefined);
  const runStarted = performance.now();
  const faults = new FaultLog();
  const { emulator, connectionString } = await startHub(options.partitions);
  const env = await deviceTestEnv(connectionString);
  const probe = new DeviceTestProbe(env);
  const slowCosmos = new TcpFaultProxy(Number(new URL(env.COSMOS_ENDPOINT!).port), {
    oneWayDelayMs: options.slowCosmosOneWayMs,
  });
  await slowCosmos.up();
  const replica = new RoleRunner({
    name: "device-ingest",
    args: ["worker", "device-ingest"],
    env: {
      ...env,
      COSMOS_ENDPOINT: `https://127.0.0.1:${slowCosmos.port}/`,
      DEVICE_INGEST_BATCH_SIZE: "500",
      ...(options.memoryLimitBytes
        ? { DEVICE_INGEST_MEMORY_LIMIT_BYTES: String(options.memoryLimitBytes) }
        : {}),
    },
  });
  const prefix = env.EVENTFLEET_ENV!;
  const events = Array.from({ length: options.events }, (_, i) => largeEvent(prefix, i, options.eventBytes));
  try {
    // The backlog is there before the replica starts: it drains as fast as its buffers allow.
    for (let i = 0; i < events.length; i += 200) await probe.send(events.slice(i, i + 200));
    say(`large-events: ${events.length} events of ${options.eventBytes} bytes in the hub`);
    await replica.start();
    const started = performance.now();
    let peakRss = 0;
    let stored = 0;
    const deadline = Date.now() + options.drainTimeoutMs;
    while (Date.now() < deadline && replica.running) {
      peakRss = Math.max(peakRss, replica.rssBytes());
      stored = await replica
        .metric("eventfleet_eventhub_events_total", { outcome: "stored" })
        .catch(() => stored);
      if (stored >= events.length) break;
      await delay(250);
    }
    const drainSeconds = (performance.now() - started) / 1000;
    faults.record(
      "slow cosmos",
      "cosmos",
      `+${2 * options.slowCosmosOneWayMs} ms per round trip while a backlog of ${events.length} events drains`,
      0,
    );
    say(
      `large-events: drained ${stored} in ${drainSeconds.toFixed(1)} s, peak RSS ${(peakRss / MiB).toFixed(0)} MiB`,
    );
    const ids = new Set(await probe.telemetryIds());
    const invariants: InvariantResult[] = [
      {
        name: "the replica was never killed or crashed",
        checked: 1,
        violations: replica.running ? [] : [`exited: ${replica.tail(5)}`],
      },
      {
        name: "peak RSS under the memory limit",
        checked: 1,
        violations:
          options.memoryLimitBytes && peakRss >= options.memoryLimitBytes
            ? [`${(peakRss / MiB).toFixed(0)} MiB ≥ ${(options.memoryLimitBytes / MiB).toFixed(0)} MiB`]
            : [],
      },
      {
        name: "every event in Cosmos",
        checked: events.length,
        violations: events.filter((e) => !ids.has(e.id)).map((e) => e.id),
      },
    ];
    return {
      scenario: `Large events (${options.memoryLimitBytes ? `${options.memoryLimitBytes / MiB} MiB limit` : "no limit"})`,
      parameters: {
        events: options.events,
        eventBytes: options.eventBytes,
        partitions: options.partitions,
        memoryLimitMiB: options.memoryLimitBytes ? options.memoryLimitBytes / MiB : "none",
        slowCosmosOneWayMs: options.slowCosmosOneWayMs,
      },
      durationMs: performance.now() - runStarted,
      faults: faults.faults,
      counts: {
        peakRssMiB: Math.round(peakRss / MiB),
        drainSeconds: Math.round(drainSeconds),
        eventsPerSecond: Math.round(stored / drainSeconds),
      },
      invariants,
    };
  } finally {
    await replica.stop("SIGTERM", 20_000);
    await slowCosmos.close();
    await probe.close();
    await emulator.close();
  }
}
