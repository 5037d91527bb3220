// The whole eventfleet command line: every role and tool (ARCHITECTURE.md §3). A role's process builds only its part
// (cli/main.ts), so the tools' modules are loaded only by the tools.
import type { Command } from "commander";
import { registerEventHubsEmulatorCommand } from "../dev/eventhubs-emulator/cli.ts";
import { registerDevCommands } from "./dev-commands.ts";
import { registerInfraCommands } from "./infra-commands.ts";
import { registerDeadletterCommands } from "./deadletter-commands.ts";
import { registerDlqCommands } from "./dlq-commands.ts";
import { registerRedisCommands } from "./redis-commands.ts";
import { registerRoleCommands } from "./role-commands.ts";
import type { ConfigCatalog } from "./role-environment-help.ts";
import { registerSchemaCommands } from "./schema-commands.ts";
import { registerSimulateCommands } from "./simulate-commands.ts";
import { rootProgram } from "./root-program.ts";

/** `catalog` (the config schemas) and `argv` feed the roles' --help; without them the help omits the variables. */
export function buildProgram(catalog?: ConfigCatalog, argv: readonly string[] = []): Command {
  const program = rootProgram();
  registerRoleCommands(program, catalog, argv);

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
