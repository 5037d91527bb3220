// Every role's configuration, in one list: the source of the README's configuration table.
import { apiEnv, relayEnv } from "../api/config.ts";
import { processEnv, type EnvSpec } from "../shared/config.ts";
import { telemetryEnv } from "../shared/telemetry/telemetry-config.ts";
import { infraEnv } from "../shared/topology/infra-apply.ts";
import { deviceIngestEnv } from "../workers/device-ingest/config.ts";
import { inventoryEnv } from "../workers/inventory/main.ts";
import { notificationEnv } from "../workers/notification/main.ts";
import { shipmentEnv } from "../workers/shipment/main.ts";

export const CONFIG_CATALOG: { role: string; spec: EnvSpec }[] = [
  { role: "every process", spec: processEnv },
  { role: "every process (tracing)", spec: telemetryEnv },
  { role: "api", spec: apiEnv },
  { role: "relay", spec: relayEnv },
  { role: "worker inventory", spec: inventoryEnv },
  { role: "worker shipment", spec: shipmentEnv },
  { role: "worker notification", spec: notificationEnv },
  { role: "worker device-ingest", spec: deviceIngestEnv },
  { role: "infra apply", spec: infraEnv },
];

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** The Markdown table: one row per variable, with every role that reads it. */
export function renderConfigTable(): string {
  const rows = new Map<
    string,
    { roles: string[]; expects: string; description: string; default?: string | undefined }
  >();
  for (const { role, spec } of CONFIG_CATALOG) {
    for (const [name, variable] of Object.entries(spec)) {
      const row = rows.get(name);
      if (row) {
        if (!row.roles.includes(role)) row.roles.push(role);
      } else {
        rows.set(name, {
          roles: [role],
          expects: variable.expects,
          description: variable.description,
          default: variable.default,
        });
      }
    }
  }
  const lines = ["| Variable | Used by | Default | Expects | What it is |", "|---|---|---|---|---|"];
  for (const [name, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
    const fallback = row.default === undefined ? "–" : `\`${row.default}\``;
    lines.push(
      `| \`${name}\` | ${row.roles.join(", ")} | ${cell(fallback)} | ${cell(row.expects)} | ${cell(row.description)} |`,
    );
  }
  return lines.join("\n");
}
