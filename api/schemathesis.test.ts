// schemathesis (PyPI, pinned by scripts/install-api-tools.sh) against the running API: valid and invalid requests
// generated from the served /openapi.json for every operation, a fixed seed and bounded examples; every check on,
// so a 5xx, an undocumented status, header or content type, or a body off its schema fails the test.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sha256Hex } from "./auth.ts";
import { withInProcessApi } from "../test/support/in-process-api.ts";

const root = resolve(import.meta.dirname, "..");
const ST = resolve(root, ".tools/schemathesis/bin/st");
const CONFIG = resolve(import.meta.dirname, "schemathesis.toml");

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    // In a directory of its own, so nothing it writes lands in the checkout.
    const child = spawn(command, args, {
      cwd: mkdtempSync(join(tmpdir(), "ef-schemathesis-")),
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, output }));
  });
}

void describe("schemathesis against the API (AUTH_MODE=apikey, real Redis)", () => {
  const key = randomUUID();
  const api = withInProcessApi({
    auth: {
      mode: "apikey",
      apiKeys: JSON.stringify([
        {
          name: "schemathesis",
          sha256: sha256Hex(key),
          scopes: ["orders:read", "orders:write", "orders:admin", "inventory:admin"],
        },
      ]),
    },
    // On, so the RateLimit headers are checked too; high, so schemathesis is not refused while it works.
    rateLimit: { perSecond: 10_000, burst: 10_000 },
  });

  void test("zero 5xx and zero schema violations over every operation (fixed seed, bounded examples)", async () => {
    assert.ok(
      existsSync(ST),
      `${ST} missing: run \`make api-tools\` (scripts/install-api-tools.sh installs it)`,
    );
    const { code, output } = await run(ST, [
      "--config-file",
      CONFIG,
      "run",
      `${api.url}/openapi.json`,
      "--checks",
      "all",
      "--header",
      `X-Api-Key: ${key}`,
    ]);
    const summary = /(\d+) generated, (\d+) passed/.exec(output);
    assert.equal(code, 0, `schemathesis found problems (exit ${code}):\n${output.slice(-6000)}`);
    assert.ok(
      summary && Number(summary[1]) >= 100,
      `schemathesis ran at least 100 cases:\n${output.slice(-2000)}`,
    );
    assert.equal(summary[1], summary[2], "every generated case passed");
  });
});
