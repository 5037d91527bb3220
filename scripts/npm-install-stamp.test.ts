// The Makefile's npm install stamp follows package-lock.json's content: a touch or a checkout of an unchanged lock
// does not reinstall (a reinstall wipes node_modules under whatever runs from it); a changed lock does.
import { spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import assert from "node:assert/strict";

const root = resolve(import.meta.dirname, "..");

/** A directory with the repo's Makefile, package.json and package-lock.json, and node_modules stamped as installed. */
function installedCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), "npm-stamp-"));
  for (const file of ["Makefile", "package.json", "package-lock.json"])
    copyFileSync(join(root, file), join(dir, file));
  mkdirSync(join(dir, "node_modules"));
  // `make -n` prints the recipe of an out-of-date stamp: the name of the stamp it would touch is the one to create.
  const plan = make(dir, "-n");
  const stamp = /touch (node_modules\/\S+)$/m.exec(plan.stdout)?.[1];
  assert.ok(stamp, `no stamp in the install recipe:\n${plan.stdout}`);
  spawnSync("touch", [join(dir, stamp)]);
  return dir;
}

/** `make -q install`: exit 0 when nothing would run, 1 when npm ci would. */
function make(dir: string, flag: "-q" | "-n") {
  return spawnSync("make", ["--no-print-directory", flag, "install"], { cwd: dir, encoding: "utf8" });
}

describe("make install's stamp", () => {
  test("an installed checkout is up to date", () => {
    assert.equal(make(installedCheckout(), "-q").status, 0);
  });

  test("package.json and package-lock.json newer than the stamp (touch, git checkout) do not reinstall", () => {
    const dir = installedCheckout();
    const later = new Date(Date.now() + 60_000);
    for (const file of ["package.json", "package-lock.json"]) utimesSync(join(dir, file), later, later);
    assert.equal(make(dir, "-q").status, 0, "make would run npm ci for an unchanged lock");
  });

  test("a changed package-lock.json reinstalls", () => {
    const dir = installedCheckout();
    appendFileSync(join(dir, "package-lock.json"), "\n");
    assert.equal(make(dir, "-q").status, 1);
    assert.match(make(dir, "-n").stdout, /npm ci/);
  });
});
