// The long-running roles: `eventfleet api`, `relay`, `worker <name>`. Each loads only its own component.
import { Argument, Option, type Command } from "commander";
import type { SqsWorker } from "../shared/topology/topology.ts";
import { environmentHelp, type ConfigCatalog, type HelpRole } from "./role-environment-help.ts";

/** Worker name → how to run it (every SQS worker of the topology, and device-ingest). Each `main()` runs until SIGTERM. */
const workers: Record<string, () => Promise<void>> = {
  inventory: async () => (await import("../workers/inventory/main.ts")).main(),
  shipment: async () => (await import("../workers/shipment/main.ts")).main(),
  notification: async () => (await import("../workers/notification/main.ts")).main(),
  "device-ingest": async () => (await import("../workers/device-ingest/main.ts")).main(),
} satisfies Record<SqsWorker | "device-ingest", () => Promise<void>>;

/**
 * `catalog`: the config schemas, loaded by main() only when help was asked for (loading every role's module costs
 * seconds); `worker <name> --help` then lists that worker's variables, `worker --help` every worker's.
 */
export function registerRoleCommands(
  program: Command,
  catalog?: ConfigCatalog,
  argv: readonly string[] = [],
): void {
  const helpFor = (roles: () => HelpRole[]) => () =>
    catalog ? environmentHelp(catalog, roles(), Math.max(60, process.stdout.columns ?? 100)) : "";
  program
    .command("api")
    .description("order API on :8080 (management :9464); runs the outbox relay too unless --relay=off")
    .addOption(
      new Option("--relay <mode>", "run the outbox relay in this process")
        .choices(["on", "off"])
        .default("on"),
    )
    .addHelpText(
      "after",
      helpFor(() => [
        { role: "api" },
        { role: "relay", heading: "relay (in the API process unless --relay=off)" },
      ]),
    )
    .action(async (options: { relay: "on" | "off" }) => {
      const { main } = await import("../api/main.ts");
      await main({ relay: options.relay === "on" });
    });

  program
    .command("relay")
    .description("outbox relay alone: Redis outbox stream → SNS (scale it apart from the API)")
    .addHelpText(
      "after",
      helpFor(() => [{ role: "relay" }]),
    )
    .action(async () => {
      const { main } = await import("../api/relay-main.ts");
      await main();
    });

  program
    .command("worker")
    .description("run one worker until SIGTERM")
    .addArgument(new Argument("<name>", "which worker").choices(Object.keys(workers)))
    .addHelpText(
      "after",
      helpFor(() => {
        const named = Object.keys(workers).filter((name) => argv.includes(name));
        return (named.length > 0 ? named : Object.keys(workers)).map((name) => ({ role: `worker ${name}` }));
      }),
    )
    .action(async (name: string) => {
      const run = workers[name];
      if (run) await run();
    });
}
