// `eventfleet api|relay|worker --help`: the environment variables a role reads, from the config schemas.
import type { EnvSpec } from "../shared/config.ts";

export type ConfigCatalog = readonly { role: string; spec: EnvSpec }[];

/** A variable the role cannot start without: no default, and its schema refuses "unset". */
const required = (variable: EnvSpec[string]) =>
  variable.default === undefined && !variable.schema.safeParse(undefined).success;

/** `names`, comma-separated, wrapped to lines of at most `width` columns under a `label` of `indent` columns. */
function wrapped(label: string, names: string[], indent: number, width: number): string[] {
  const lines: string[] = [];
  let line = label.padEnd(indent);
  for (const [i, name] of names.entries()) {
    const item = i < names.length - 1 ? `${name},` : name;
    if (line.trim().length > label.trim().length && line.length + 1 + item.length > width) {
      lines.push(line);
      line = " ".repeat(indent);
    }
    line += line.trim().length > label.trim().length ? ` ${item}` : item;
  }
  lines.push(line);
  return lines;
}

/** One role of the help: its name in the catalog, and how to title it when that needs a word more. */
export interface HelpRole {
  role: string;
  heading?: string;
}

/** The help section for `roles` (catalog names such as "worker inventory"), every process's variables included. */
export function environmentHelp(catalog: ConfigCatalog, roles: readonly HelpRole[], width = 100): string {
  const common = catalog.find((entry) => entry.role === "every process")?.spec ?? {};
  const lines = ["", "Environment (the README's configuration table says what each one expects):"];
  for (const { role, heading } of roles) {
    const spec = catalog.find((entry) => entry.role === role)?.spec;
    if (!spec) continue;
    const variables = Object.entries({ ...spec, ...common });
    const needed = variables.filter(([, v]) => required(v)).map(([name]) => name);
    const optional = variables
      .filter(([, v]) => !required(v))
      .map(([name, v]) => (v.default === undefined ? name : `${name}=${v.default}`));
    lines.push(`  ${heading ?? role}`);
    lines.push(...wrapped("    required:", needed.length > 0 ? needed : ["(none)"], 14, width));
    lines.push(...wrapped("    optional:", optional, 14, width));
  }
  return `${lines.join("\n")}\n`;
}
