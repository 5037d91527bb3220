// `.eventfleet/stack.env`: the running stack's endpoints as KEY=value lines, for roles, tests and people.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export function writeStackEnv(file: string, env: Record<string, string>): void {
  mkdirSync(dirname(file), { recursive: true });
  const lines = Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    // Single quotes so `set -a; . .eventfleet/stack.env` works in a shell even with ';' in connection strings.
    .map(([key, value]) => `${key}='${value.replaceAll("'", "'\\''")}'`);
  writeFileSync(
    file,
    `# written by eventfleet dev; source it with: set -a; . ${file}; set +a\n${lines.join("\n")}\n`,
  );
}

export function readStackEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (match) env[match[1]!] = match[2]!.replaceAll("'\\''", "'");
  }
  return env;
}
