// `eventfleet schema export <dir>`: the event contracts as JSON Schema files.
import type { Command } from "commander";

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
      for (const file of await exportJsonSchemas(dir)) process.stdout.write(`wrote ${file}\n`);
    });
}
