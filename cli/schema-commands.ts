// `eventfleet schema export <dir>`: the event contracts as JSON Schema files.
import type { Command } from "commander";

/** One line for a file-system error on the export directory: what is wrong with it, not a stack. */
function exportProblem(dir: string, error: NodeJS.ErrnoException): string {
  const where = error.path && error.path !== dir ? `${dir} (at ${error.path})` : dir;
  switch (error.code) {
    case "EEXIST":
    case "ENOTDIR":
      return `${where} is a file, not a directory: give a directory to write *.schema.json into`;
    case "EACCES":
    case "EPERM":
      return `no permission to write into ${where}: choose a directory you can write to`;
    case "EROFS":
      return `${where} is on a read-only file system: choose a writable directory`;
    case "ENOSPC":
      return `no space left on the device of ${where}`;
    default:
      return `cannot write into ${where}: ${error.message}`;
  }
}

export function registerSchemaCommands(program: Command): void {
  const schema = program
    .command("schema")
    .description("event contracts (CloudEvents, order and device events)");
  schema
    .command("export")
    .description("write every event contract as a JSON Schema file into <dir>")
    .argument("<dir>", "directory to write *.schema.json into (created if missing)")
    .action(async (dir: string) => {
      const { exportJsonSchemas } = await import("../shared/events/json-schemas.ts");
      let written: string[];
      try {
        written = await exportJsonSchemas(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (typeof code !== "string") throw error;
        process.stderr.write(
          `eventfleet schema export: ${exportProblem(dir, error as NodeJS.ErrnoException)}\n`,
        );
        process.exit(1);
      }
      for (const file of written) process.stdout.write(`wrote ${file}\n`);
    });
}
