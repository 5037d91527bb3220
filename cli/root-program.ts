// The root of the eventfleet command line (name, version, usage-error behaviour), shared by the whole CLI
// (cli/program.ts) and a role's process, which adds only the role commands (cli/main.ts).
import { Command } from "commander";
import { version } from "../shared/version.ts";

/** The root command, without subcommands. */
export function rootProgram(): Command {
  return (
    new Command("eventfleet")
      .description(
        "eventfleet: an event-driven worker fleet: orders on AWS SNS/SQS, device telemetry on Azure Event Hubs and Cosmos DB",
      )
      .version(version, "-V, --version")
      .showHelpAfterError("(add --help for usage)")
      .configureHelp({ sortSubcommands: false })
      // Usage errors exit 2 (like bad configuration); subcommands inherit this from the root.
      .exitOverride()
  );
}
