// The eventfleet command line: one entry point for every role and tool (ARCHITECTURE.md §3).
import { Command, CommanderError } from "commander";
import { registerEventHubsEmulatorCommand } from "../dev/eventhubs-emulator/cli.ts";
import { version } from "../shared/version.ts";
import { registerDevCommands } from "./dev-commands.ts";
import { registerInfraCommands } from "./infra-commands.ts";
import { registerDeadletterCommands } from "./deadletter-commands.ts";
import { registerDlqCommands } from "./dlq-commands.ts";
import { registerRedisCommands } from "./redis-commands.ts";
import { registerRoleCommands } from "./role-commands.ts";
import type { ConfigCatalog } from "./role-environment-help.ts";
import { registerSchemaCommands } from "./schema-commands.ts";
import { registerSimulateCommands } from "./simulate-commands.ts";

/** The first arguments that run a long-running role (cli/role-commands.ts). */
const ROLE_COMMANDS = ["api", "relay", "worker"];

/**
 * `catalog` (the config schemas) and `argv` feed the roles' --help; without them the help omits the variables.
 * `scope: "roles"` registers the role commands alone: a role's process (a pod, a scale from zero) skips building the
 * ~40 tool commands it never runs, a few ms of its start-to-ready.
 */
export function buildProgram(
  catalog?: ConfigCatalog,
  argv: readonly string[] = [],
  scope: "all" | "roles" = "all",
): Command {
  const program = new Command("eventfleet")
    .description(
      "eventfleet: an event-driven worker fleet: orders on AWS SNS/SQS, device telemetry on Azure Event Hubs and Cosmos DB",
    )
    .version(version, "-V, --version")
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ sortSubcommands: false })
    // Usage errors exit 2 (like bad configuration); subcommands inherit this from the root.
    .exitOverride();

  registerRoleCommands(program, catalog, argv);
  if (scope === "roles") return program;

  registerInfraCommands(program);

  registerDlqCommands(program);

  registerDeadletterCommands(program);

  registerRedisCommands(program);

  registerSimulateCommands(program);

  registerDevCommands(program);

  registerEventHubsEmulatorCommand(
    program.command("emulator").description("local emulators of cloud services"),
  );

  registerSchemaCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `eventfleet ... | head` closes our stdout early: that is not an error worth a stack trace.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  // Only the roles' help lists variables, and loading every role's schema costs seconds: only then.
  const args = argv.slice(2);
  const role = ROLE_COMMANDS.includes(args[0] ?? "");
  const roleHelp = role && args.some((arg) => arg === "--help" || arg === "-h");
  const catalog = roleHelp ? (await import("./config-catalog.ts")).CONFIG_CATALOG : undefined;
  const program = buildProgram(catalog, argv, role ? "roles" : "all");
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 1 ? 2 : error.exitCode);
    throw error;
  }
}
