// Event Hubs emulator throughput: one SDK producer (batches of 500) and one SDK consumer, end to end.
// The emulator runs in a child process so its CPU per event can be measured apart from the SDK's.
// Baseline, same run: the same emulator re-encoding every event (codec "reencode") instead of splicing bytes.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from "@azure/event-hubs";
import type { EventData } from "@azure/event-hubs";
import { startEventHubsEmulator } from "../dev/eventhubs-emulator/index.ts";
import { waitFor } from "../test/support/wait.ts";

const EVENTS = Number(process.env.BENCH_EVENTHUBS_EVENTS ?? 60_000);
/** Rounds of (ours, baseline), alternating who goes first; medians are reported (the machine is shared). */
const ROUNDS = Number(process.env.BENCH_EVENTHUBS_ROUNDS ?? 3);
const BATCH_SIZE = 500;
const PARTITIONS = 4;
const HUB = "telemetry";
/** Set in the child process: which codec its emulator uses. */
const CHILD_CODEC = "BENCH_EVENTHUBS_CHILD_CODEC";

type Codec = "splice" | "reencode";

interface Measurement {
  codec: Codec;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** CPU (user + system) the emulator process spent per event, in µs. */
  cpuMicrosPerEvent: number;
}

export interface EventHubsEmulatorBenchResult {
  name: string;
  events: number;
  batchSize: number;
  rounds: number;
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
  baselineEventsPerSecond: number;
  baselineCpuMicrosPerEvent: number;
  /** events/s of the splicing emulator ÷ events/s of the re-encoding baseline. */
  throughputRatio: number;
  /** CPU µs per event of the baseline ÷ that of the splicing emulator. */
  cpuRatio: number;
  markdown: string;
}

type ChildMessage = { port: number; connectionString: string } | { cpuMicros: number };

/** Messages from the emulator child, in order. */
function listen(child: ChildProcess) {
  const queue: ChildMessage[] = [];
  child.on("message", (message) => queue.push(message as ChildMessage));
  return async <T extends ChildMessage>(has: (m: ChildMessage) => m is T): Promise<T> => {
    const found = await waitFor(() => queue.find(has), {
      timeoutMs: 30_000,
      description: "the emulator child",
    });
    queue.splice(queue.indexOf(found), 1);
    return found;
  };
}

const isReady = (m: ChildMessage): m is { port: number; connectionString: string } => "port" in m;
const isCpu = (m: ChildMessage): m is { cpuMicros: number } => "cpuMicros" in m;

function deviceEvent(i: number): EventData {
  return {
    body: {
      deviceId: `device-${i % 1000}`,
      eventId: `e-${i}`,
      type: "telemetry",
      ts: new Date(1_700_000_000_000 + i).toISOString(),
      payload: { temperature: 20 + (i % 10), humidity: 40 + (i % 7) },
    },
  };
}

async function measure(codec: Codec): Promise<Measurement> {
  const child = fork(import.meta.filename, [], {
    env: { ...process.env, [CHILD_CODEC]: codec },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = listen(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const { connectionString } = await next(isReady);
    const producer = new EventHubProducerClient(connectionString);
    const consumer = new EventHubConsumerClient("$Default", connectionString);
    let received = 0;
    const subscription = consumer.subscribe(
      {
        processEvents: async (events) => {
          received += events.length;
          await Promise.resolve();
        },
        processError: async (error) => {
          process.stderr.write(`consumer error: ${String(error)}\n`);
          await Promise.resolve();
        },
      },
      { startPosition: earliestEventPosition, maxBatchSize: BATCH_SIZE, maxWaitTimeInSeconds: 1 },
    );
    const batches: EventData[][] = [];
    for (let start = 0; start < EVENTS; start += BATCH_SIZE) {
      batches.push(
        Array.from({ length: Math.min(BATCH_SIZE, EVENTS - start) }, (_, i) => deviceEvent(start + i)),
      );
    }
    // Warm-up: links attached and JIT warm before the clock starts.
    for (let p = 0; p < PARTITIONS; p++) await producer.sendBatch(batches[0]!);
    await waitFor(() => received >= PARTITIONS * BATCH_SIZE, { timeoutMs: 60_000, description: "warm-up" });
    const warm = received;

    child.send("cpu");
    const cpuBefore = (await next(isCpu)).cpuMicros;
    const started = performance.now();
    for (const events of batches) {
      // As an application would: an EventDataBatch sized by the link's max message size.
      const batch = await producer.createBatch();
      for (const event of events)
        if (!batch.tryAdd(event)) throw new Error("a batch of 500 did not fit in 1 MiB");
      await producer.sendBatch(batch);
    }
    await waitFor(() => received - warm >= EVENTS, {
      timeoutMs: 300_000,
      intervalMs: 5,
      description: "all events",
    });
    const seconds = (performance.now() - started) / 1000;
    child.send("cpu");
    const cpuAfter = (await next(isCpu)).cpuMicros;

    await subscription.close();
    await consumer.close();
    await producer.close();
    return {
      codec,
      events: EVENTS,
      seconds,
      eventsPerSecond: Math.round(EVENTS / seconds),
      cpuMicrosPerEvent: Math.round(((cpuAfter - cpuBefore) / EVENTS) * 100) / 100,
    };
  } finally {
    child.send("stop");
    await exited;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<EventHubsEmulatorBenchResult> {
  const ours: Measurement[] = [];
  const baselines: Measurement[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order: Codec[] = round % 2 === 0 ? ["splice", "reencode"] : ["reencode", "splice"];
    for (const codec of order) (codec === "splice" ? ours : baselines).push(await measure(codec));
  }
  const splice = {
    eventsPerSecond: median(ours.map((m) => m.eventsPerSecond)),
    cpuMicrosPerEvent: median(ours.map((m) => m.cpuMicrosPerEvent)),
  };
  const baseline = {
    eventsPerSecond: median(baselines.map((m) => m.eventsPerSecond)),
    cpuMicrosPerEvent: median(baselines.map((m) => m.cpuMicrosPerEvent)),
  };
  const throughputRatio = Math.round((splice.eventsPerSecond / baseline.eventsPerSecond) * 100) / 100;
  const cpuRatio = Math.round((baseline.cpuMicrosPerEvent / splice.cpuMicrosPerEvent) * 100) / 100;
  const markdown = [
    `### Event Hubs emulator: ${EVENTS} events, batches of ${BATCH_SIZE}, one producer, one consumer (median of ${ROUNDS})`,
    "",
    "| emulator | events/s | emulator CPU µs/event |",
    "|---|---:|---:|",
    `| splices bytes (ours) | ${splice.eventsPerSecond} | ${splice.cpuMicrosPerEvent} |`,
    `| re-encodes every event (baseline) | ${baseline.eventsPerSecond} | ${baseline.cpuMicrosPerEvent} |`,
    "",
    `Throughput ×${throughputRatio} the baseline; CPU per event ÷${cpuRatio}.`,
  ].join("\n");
  return {
    name: "eventhubs-emulator",
    events: EVENTS,
    batchSize: BATCH_SIZE,
    rounds: ROUNDS,
    eventsPerSecond: splice.eventsPerSecond,
    cpuMicrosPerEvent: splice.cpuMicrosPerEvent,
    baselineEventsPerSecond: baseline.eventsPerSecond,
    baselineCpuMicrosPerEvent: baseline.cpuMicrosPerEvent,
    throughputRatio,
    cpuRatio,
    markdown,
  };
}

/** The child: an emulator that reports its CPU use on request and stops on "stop". */
async function serveEmulator(codec: Codec): Promise<void> {
  const emulator = await startEventHubsEmulator({
    port: 0,
    hubs: [{ name: HUB, partitions: PARTITIONS }],
    codec,
  });
  process.on("message", (message) => {
    if (message === "cpu") {
      const usage = process.cpuUsage();
      process.send?.({ cpuMicros: usage.user + usage.system });
    } else if (message === "stop") {
      void emulator.close().then(() => process.exit(0));
    }
  });
  process.send?.({ port: emulator.port, connectionString: emulator.connectionString(HUB) });
}

if (import.meta.main) {
  const codec = process.env[CHILD_CODEC];
  if (codec === "splice" || codec === "reencode") {
    await serveEmulator(codec);
  } else {
    const result = await run();
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
}
