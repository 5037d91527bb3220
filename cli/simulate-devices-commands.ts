// `eventfleet simulate devices`: device events to Event Hubs at a steady rate, with a live progress line.
import { InvalidArgumentError, Option, type Command } from "commander";
import { positiveInt, positiveNumber } from "./option-parsers.ts";

function ratio(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("expected a number from 0 to 1");
  return n;
}

interface SimulateDevicesCommandOptions {
  devices: number;
  rate: number;
  count?: number;
  duration?: number;
  invalidRatio: number;
  prefix: string;
}

async function simulateDevicesCommand(options: SimulateDevicesCommandOptions): Promise<void> {
  const [{ parseEnv, eventHubEnv, ConfigError }, { createEventHubProducer }, { simulateDevices }] =
    await Promise.all([
      import("../shared/config.ts"),
      import("../shared/azure-clients.ts"),
      import("../dev/simulators/devices.ts"),
    ]);
  let producer;
  try {
    const config = parseEnv(eventHubEnv);
    if (!config.EVENTHUB_CONNECTION_STRING && !config.EVENTHUB_NAMESPACE) {
      throw new ConfigError(
        "EVENTHUB_CONNECTION_STRING",
        "EVENTHUB_CONNECTION_STRING: got nothing (unset), expected a connection string (or set EVENTHUB_NAMESPACE); " +
          "`eventfleet dev` writes it to .eventfleet/stack.env",
      );
    }
    producer = createEventHubProducer(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`eventfleet: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  const line = (p: { sent: number; invalid: number; errors: number; elapsedMs: number; total: number }) => {
    const rate = p.elapsedMs > 0 ? (p.sent * 1000) / p.elapsedMs : 0;
    return `events ${p.sent}/${p.total} · ${rate.toFixed(0)}/s · invalid ${p.invalid} · errors ${p.errors}`;
  };
  const result = await simulateDevices({
    producer,
    devices: options.devices,
    rate: options.rate,
    ...(options.count !== undefined ? { count: options.count } : {}),
    ...(options.duration !== undefined ? { durationMs: options.duration * 1000 } : {}),
    ...(options.count === undefined && options.duration === undefined ? { count: 1000 } : {}),
    invalidRatio: options.invalidRatio,
    prefix: options.prefix,
    signal: controller.signal,
    onProgress: (p) => {
      if (tty && Date.now() - lastLine > 100) {
        process.stderr.write(`\r\x1b[2K${line(p)}`);
        lastLine = Date.now();
      } else if (!tty && Date.now() - lastLine > 1000) {
        process.stderr.write(`${line(p)}\n`);
        lastLine = Date.now();
      }
    },
  });
  await producer.close();
  if (tty) process.stderr.write("\r\x1b[2K");
  process.stdout.write(`${line(result)}${result.lastError ? ` · last error: ${result.lastError}` : ""}\n`);
  if (result.sent === 0) process.exitCode = 1;
}

/** Adds `devices` under the `simulate` command group. */
export function registerSimulateDevicesCommand(simulate: Command): void {
  simulate
    .command("devices")
    .description(
      "send device events to Event Hubs (partition key = deviceId) at a steady rate, with a live progress line",
    )
    .addOption(new Option("--devices <n>", "how many simulated devices").argParser(positiveInt).default(10))
    .addOption(
      new Option("--rate <per-second>", "events per second, all devices together")
        .argParser(positiveNumber)
        .default(100),
    )
    .addOption(
      new Option("--count <n>", "stop after this many events (default 1000)")
        .argParser(positiveInt)
        .conflicts("duration"),
    )
    .addOption(new Option("--duration <seconds>", "stop after this long instead").argParser(positiveNumber))
    .addOption(
      new Option(
        "--invalid-ratio <x>",
        "share of deliberately invalid events (0-1), to exercise the dead-letter queue",
      )
        .argParser(ratio)
        .default(0),
    )
    .addOption(new Option("--prefix <name>", "device ids are <prefix>-<n>").default("sim"))
    .action(simulateDevicesCommand);
}
