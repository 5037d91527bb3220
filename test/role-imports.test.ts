// Each role loads only the SDKs of its cloud: the Azure SDKs cost the order roles ~350 ms of startup and ~35 MiB.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "./support/stack.ts";

/** The npm scopes whose modules importing `entry` loads, recorded by a resolve hook in a fresh process. */
async function scopesLoadedBy(entry: string): Promise<Set<string>> {
  const script = `
    import { registerHooks } from "node:module";
    const scopes = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        const scope = /node_modules\\/(@[^/]+)\\//.exec(resolved.url);
        if (scope) scopes.add(scope[1]);
        return resolved;
      },
    });
    await import(${JSON.stringify(join(ROOT, entry))});
    process.stdout.write(JSON.stringify([...scopes]));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
  });
  return new Set(JSON.parse(stdout) as string[]);
}

for (const entry of [
  "api/main.ts",
  "api/relay-main.ts",
  "workers/inventory/main.ts",
  "workers/shipment/main.ts",
  "workers/notification/main.ts",
]) {
  test(`${entry} loads the AWS SDK and no Azure SDK`, async () => {
    const scopes = await scopesLoadedBy(entry);
    assert.ok(scopes.has("@aws-sdk"), `AWS SDK loaded: ${[...scopes].join(", ")}`);
    assert.ok(!scopes.has("@azure"), `no Azure SDK: ${[...scopes].join(", ")}`);
  });
}

test("workers/device-ingest/main.ts loads the Azure SDKs and no AWS SDK", async () => {
  const scopes = await scopesLoadedBy("workers/device-ingest/main.ts");
  assert.ok(scopes.has("@azure"), `Azure SDKs loaded: ${[...scopes].join(", ")}`);
  assert.ok(!scopes.has("@aws-sdk"), `no AWS SDK: ${[...scopes].join(", ")}`);
});
