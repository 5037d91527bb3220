// The Lua loader: includes expand once each, cycles and missing pieces are named, and every script of the
// repository, expanded, compiles in a real Redis.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { getStack } from "../test/support/stack.ts";
import { expandLuaSource } from "./lua-scripts.ts";

function pieces(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), "lua-include-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return pathToFileURL(`${dir}/`);
}

describe("expandLuaSource", () => {
  test("an include is replaced by the piece, itself expanded, and a piece included twice appears once", () => {
    const root = pieces({
      "stamp.lua": "local function stamp() end",
      "events.lua": "-- #include stamp.lua\nlocal function events() stamp() end",
      "step.lua": "-- #include stamp.lua\n-- #include events.lua\nreturn events()",
    });
    const text = expandLuaSource(new URL("step.lua", root), root);
    assert.equal(text.split("local function stamp").length - 1, 1);
    assert.ok(text.indexOf("local function stamp") < text.indexOf("local function events"));
    assert.ok(text.endsWith("return events()"));
    assert.doesNotMatch(text, /#include/);
  });

  test("a missing piece names the file that includes it and how paths are written", () => {
    const root = pieces({ "step.lua": "-- #include shared/nowhere.lua\nreturn 1" });
    assert.throws(
      () => expandLuaSource(new URL("step.lua", root), root),
      /Lua script shared\/nowhere\.lua \(included from step\.lua\) cannot be read.*written from the repository root/s,
    );
  });

  test("an include cycle is refused with the chain named", () => {
    const root = pieces({ "a.lua": "-- #include b.lua", "b.lua": "-- #include a.lua" });
    assert.throws(
      () => expandLuaSource(new URL("a.lua", root), root),
      /Lua include cycle: a\.lua → b\.lua → a\.lua/,
    );
  });
});

describe("the repository's Lua scripts", () => {
  let redis: Redis;
  before(async () => {
    redis = new Redis((await getStack()).env.REDIS_URL!);
  });
  after(() => redis.disconnect());

  test("every script and piece, expanded, compiles in Redis (SCRIPT LOAD) with no include left", async () => {
    const root = new URL("../", import.meta.url);
    // Where code lives (not node_modules or tool folders, which are large).
    const files = ["api", "cli", "dev", "shared", "workers"].flatMap((dir) =>
      readdirSync(new URL(`${dir}/`, root), { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".lua"))
        .map((file) => `${dir}/${file}`),
    );
    assert.ok(files.length >= 15, `found ${files.length} Lua files`);
    for (const file of files) {
      const text = expandLuaSource(new URL(file, root));
      assert.doesNotMatch(text, /^--\s*#include/m, file);
      await assert.doesNotReject(redis.script("LOAD", text), file);
    }
  });
});
