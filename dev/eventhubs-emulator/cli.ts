// `eventfleet emulator eventhubs`: run the Event Hubs emulator in the foreground until SIGINT/SIGTERM.
import type { Command } from "commander";
import { EmulatorOptionsError, parseHubSpec, readConfigFile } from "./options.ts";
import type { EventHubsEmulatorOptions } from "./options.ts";

interface CliOptions {
  hub: string[];
  consumerGroup: string[];
  port?: number;
  host?: string;
  config?: string;
  dataDir?: string;
  verifySas?: string;
  retentionEvents?: number;
  retentionMs?: number;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0) {
      throw new EmulatorOptionsError(`${name} must be a non-negative integer, got '${value}'`);
    }
    return parsed;
  };
}

/** Flags over the config file: --hub adds hubs, --consumer-group adds a group to every hub. */
export async function optionsFromCli(cli: CliOptions): Promise<EventHubsEmulatorOptions> {
  const file = cli.config ? await readConfigFile(cli.config) : {};
  const fromFlags: EventHubsEmulatorOptions["hubs"] = cli.hub.map(parseHubSpec);
  const hubs = [...(file.hubs ?? []), ...fromFlags].map((hub) => ({
    ...hub,
    consumerGroups: [...new Set([...(hub.consumerGroups ?? []), ...cli.consumerGroup])],
  }));
  if (hubs.length === 0) {
    throw new EmulatorOptionsError(
      "no hub configured: add --hub <name>:<partitions> (e.g. --hub telemetry:4) or --config",
    );
  }
  const retention = {
    ...file.retention,
    ...(cli.retentionEvents === undefined ? {} : { maxEvents: cli.retentionEvents }),
    ...(cli.retentionMs === undefined ? {} : { maxAgeMs: cli.retentionMs }),
  };
  return {
    ...file,
    hubs,
    retention,
    ...(cli.port === undefined ? {} : { port: cli.port }),
    ...(cli.host === undefined ? {} : { host: cli.host }),
    ...(cli.dataDir === undefined ? {} : { dataDir: cli.dataDir }),
    ...(cli.verifySas === undefined ? {} : { verifySasKey: cli.verifySas }),
  };
}

export function registerEventHubsEmulatorCommand(emulator: Command): void {
  emulator
    .command("eventhubs")
    .description(
      "Event Hubs emulator: AMQP 1.0 for the @azure/event-hubs SDK (plain TCP; no TLS, Kafka or WebSockets)",
    )
    .option(
      "--hub <name:partitions>",
      "a hub and its partition count, e.g. telemetry:4 (repeatable)",
      collect,
      [],
    )
    .option(
      "--consumer-group <name>",
      "a consumer group on every hub besides $Default (repeatable)",
      collect,
      [],
    )
    .option("--port <port>", "AMQP port, 0 for a free one (default 5672)", integer("--port"))
    .option("--host <address>", "listen address (default 127.0.0.1)")
    .option("--config <file.json>", "JSON with hubs, port, dataDir, verifySasKey, retention (flags win)")
    .option("--data-dir <dir>", "keep an append-only log per partition here (survives restarts)")
    .option("--verify-sas <key>", "check SAS token signatures and expiry against this key (401 otherwise)")
    .option("--retention-events <n>", "keep at most n events per partition", integer("--retention-events"))
    .option("--retention-ms <ms>", "drop events older than ms", integer("--retention-ms"))
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  eventfleet emulator eventhubs --hub telemetry:4 --consumer-group device-ingest",
        "  eventfleet emulator eventhubs --hub telemetry:4 --hub audit:2 --port 0 --data-dir .eventfleet/eventhubs",
        "",
        "Prints one connection string per hub (UseDevelopmentEmulator=true) once listening; Ctrl-C stops it.",
      ].join("\n"),
    )
    .action(async (cli: CliOptions) => {
      let options: EventHubsEmulatorOptions;
      try {
        options = await optionsFromCli(cli);
      } catch (error) {
        if (!(error instanceof EmulatorOptionsError)) throw error;
        process.stderr.write(`eventfleet emulator eventhubs: ${error.message}\n`);
        process.exit(2);
      }
      const { startEventHubsEmulator } = await import("./index.ts");
      let running: Awaited<ReturnType<typeof startEventHubsEmulator>>;
      try {
        running = await startEventHubsEmulator(options);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`eventfleet emulator eventhubs: cannot start: ${message}\n`);
        process.exit(error instanceof EmulatorOptionsError ? 2 : 1);
      }
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`Event Hubs emulator listening on ${options.host ?? "127.0.0.1"}:${running.port}`);
      for (const hub of options.hubs) out(`  ${hub.name}: ${running.connectionString(hub.name)}`);
      const stop = (signal: NodeJS.Signals) => {
        out(`Event Hubs emulator: ${signal}, stopping`);
        running.close().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`eventfleet emulator eventhubs: error while stopping: ${String(error)}\n`);
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
