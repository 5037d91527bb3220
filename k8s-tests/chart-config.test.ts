// The chart and the code agree on configuration: every variable the chart renders for a role is one that role
// reads (cli/config-catalog.ts), its value passes that role's schema, and the chart's defaults are the code's.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CONFIG_CATALOG } from "../cli/config-catalog.ts";
import { telemetryEnv } from "../shared/telemetry/telemetry-config.ts";
import { parseEnv, processEnv, type EnvSpec } from "../shared/config.ts";
import {
  byKind,
  CHART_DIR,
  helmMissingReason,
  parseManifests,
  PROFILES,
  render,
  ROOT,
  template,
  type K8sObject,
} from "./support/chart.ts";

const skip = helmMissingReason();

interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
type Deployment = K8sObject & {
  spec: { template: { spec: { containers: { args?: string[]; env?: EnvEntry[] }[] } } };
};

const specOf = (role: string): EnvSpec => {
  const found = CONFIG_CATALOG.find((c) => c.role === role);
  assert.ok(found, `cli/config-catalog.ts has no role "${role}"`);
  return found.spec;
};

/** What the process started with these arguments reads: its role's variables and every process's. */
function specFor(args: string[]): { role: string; spec: EnvSpec } {
  if (args.length === 0) {
    // The operator's toolbox: what `eventfleet dlq` and `eventfleet deadletter` read.
    const workers = ["inventory", "shipment", "notification", "device-ingest"].map((w) =>
      specOf(`worker ${w}`),
    );
    return { role: "operator", spec: Object.assign({}, processEnv, ...workers) as EnvSpec };
  }
  // A long-running role also reads the OpenTelemetry variables (shared/role-process.ts).
  const every = { ...processEnv, ...telemetryEnv };
  if (args[0] === "api") {
    const relay = args.includes("--relay=on") ? specOf("relay") : {};
    return { role: "api", spec: { ...every, ...specOf("api"), ...relay } };
  }
  if (args[0] === "relay") return { role: "relay", spec: { ...every, ...specOf("relay") } };
  const role = `worker ${args[1]}`;
  return { role, spec: { ...every, ...specOf(role) } };
}

/** Where the chart's default knowingly differs from the code's, and why. Nothing else may differ. */
const DELIBERATE: Record<string, string> = {
  AUTH_MODE:
    "the code defaults to none for local runs; a cluster install is authenticated unless told otherwise",
};

/** Only what the chart cannot default (accounts, endpoints, identities); everything else is the chart's default. */
const REQUIRED_ONLY = [
  "aws.roleArn=arn:aws:iam::123456789012:role/eventfleet",
  "existingSecret=eventfleet-secrets",
  "api.auth.apiKeys.secretName=api-keys",
  "azure.enabled=true",
  "azure.clientId=00000000-0000-0000-0000-000000000001",
  "azure.eventHubs.namespace=efdefaults",
  "azure.storage.accountName=efdefaults",
  "azure.cosmos.endpoint=https://efdefaults.documents.azure.com:443/",
  "relay.enabled=true",
];

function rolesOf(objects: K8sObject[]) {
  return byKind<Deployment>(objects, "Deployment").map((d) => {
    const container = d.spec.template.spec.containers[0]!;
    return { name: d.metadata.name, args: container.args ?? [], env: container.env ?? [] };
  });
}

const renders: { name: string; objects: () => Promise<K8sObject[]> }[] = [
  ...PROFILES.map((p) => ({ name: `ci/${p}.yaml`, objects: () => render(p) })),
  ...readdirSync(join(ROOT, "deploy"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => ({
      name: `deploy/${f}`,
      objects: async () => parseManifests(await template(undefined, [], ["-f", join(ROOT, "deploy", f)])),
    })),
];

void describe("chart ↔ configuration", { skip }, () => {
  for (const r of renders) {
    void test(`${r.name}: every rendered variable is read by its role and passes its schema`, async () => {
      for (const role of rolesOf(await r.objects())) {
        const { role: roleName, spec } = specFor(role.args);
        const unknown = role.env.map((e) => e.name).filter((n) => !Object.hasOwn(spec, n));
        assert.deepEqual(unknown, [], `${role.name} (${roleName}) is given variables it never reads`);
        const literal = Object.fromEntries(
          role.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
        );
        const only = Object.fromEntries(Object.entries(spec).filter(([n]) => n in literal));
        assert.doesNotThrow(() => parseEnv(only, literal), `${role.name}: a rendered value its role refuses`);
      }
    });
  }

  void test("the chart's defaults are the code's defaults (or a deliberate, explained difference)", async () => {
    const objects = parseManifests(
      await template(undefined, REQUIRED_ONLY, ["--set-string", "aws.accountId=123456789012"]),
    );
    const roles = rolesOf(objects);
    assert.equal(roles.length, 7, "every role and the operator's toolbox are rendered");
    const differences: string[] = [];
    for (const role of roles) {
      const { spec } = specFor(role.args);
      for (const e of role.env) {
        const fallback = spec[e.name]?.default;
        if (fallback === undefined || e.value === undefined || e.value === fallback) continue;
        if (!DELIBERATE[e.name])
          differences.push(`${role.name}: ${e.name}=${e.value}, the code's default is ${fallback}`);
      }
    }
    assert.deepEqual(differences, []);
  });

  void test("values.yaml names only variables the code reads (`# -- VARIABLE: ...` comments)", () => {
    const known = new Set(CONFIG_CATALOG.flatMap((c) => Object.keys(c.spec)));
    const named = [
      ...readFileSync(join(CHART_DIR, "values.yaml"), "utf8").matchAll(/# -- ([A-Z][A-Z0-9_]+):/g),
    ].map((m) => m[1]!);
    assert.ok(named.length > 5);
    assert.deepEqual(
      named.filter((n) => !known.has(n)),
      [],
    );
  });
});
