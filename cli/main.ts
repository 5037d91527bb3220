// The eventfleet command line: one entry point for every role and tool (ARCHITECTURE.md §3).
import { CommanderError, type Command } from "commander";
import { registerRoleCommands } from "./role-commands.ts";
import type { ConfigCatalog } from "./role-environment-help.ts";
import { rootProgram } from "./root-program.ts";

/** The first arguments that run a long-running role (cli/role-commands.ts). */
const ROLE_COMMANDS = ["api", "relay", "worker"];

/**
 * The command line of a role's process (a pod, a scale from zero): the role commands alone, as the whole CLI has them.
 * It skips loading the tools' modules and building their ~40 commands, a few ms of every role's start-to-ready.
 */
export function buildRoleProgram(catalog?: ConfigCatalog, argv: readonly string[] = []): Command {
  const program = rootProgram();
  registerRoleCommands(program, catalog, argv);
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
  const program = role
    ? buildRoleProgram(catalog, argv)
    : (await import("./program.ts")).buildProgram(catalog, argv);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 1 ? 2 : error.exitCode);
    throw error;
  }
}
