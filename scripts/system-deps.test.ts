// scripts/system-deps.sh: `make dev` asks only for what the stack runs on; tests and the image ask for the rest.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";

const root = resolve(import.meta.dirname, "..");
const script = join(root, "scripts/system-deps.sh");

/** Runs the script with a PATH holding only stubs of `commands` (--check: never installs, even as root). */
function check(group: string, commands: string[]) {
  const bin = mkdtempSync(join(tmpdir(), "system-deps-"));
  for (const command of commands) {
    writeFileSync(join(bin, command), "#!/bin/sh\nexit 0\n");
    chmodSync(join(bin, command), 0o755);
  }
  return spawnSync("/bin/bash", [script, group, "--check"], { env: { PATH: bin }, encoding: "utf8" });
}

describe("system-deps.sh", () => {
  test("stack needs only redis-server: a machine without buildah, podman, debootstrap passes", () => {
    const result = check("stack", ["redis-server"]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
  });

  test("stack without redis-server names only redis-server and the apt line to run", () => {
    const result = check("stack", []);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /missing apt packages \(stack\): redis-server$/m);
    assert.match(result.stderr, /apt-get install -y --no-install-recommends redis-server$/m);
  });

  test("all (tests and image) asks for the image and test tools too", () => {
    const result = check("all", ["redis-server"]);
    assert.equal(result.status, 1);
    for (const pkg of ["redis-tools", "prometheus", "yamllint", "buildah", "podman", "unzip"]) {
      assert.match(result.stderr, new RegExp(`missing apt packages \\(all\\): .*\\b${pkg}\\b`));
    }
    assert.doesNotMatch(result.stderr, /redis-server/);
  });

  test("make dev runs the stack check, make image and make test the full one", () => {
    const dryRun = (target: string) =>
      spawnSync("make", ["-n", "--no-print-directory", target], { cwd: root, encoding: "utf8" }).stdout;
    const dev = dryRun("dev");
    assert.match(dev, /system-deps\.sh stack/);
    assert.doesNotMatch(dev, /system-deps\.sh all/);
    assert.match(dryRun("image"), /system-deps\.sh all/);
    assert.match(dryRun("test-unit"), /system-deps\.sh all/);
  });
});
