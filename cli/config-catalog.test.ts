import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { withConfigTable } from "../scripts/config-table.ts";

test("the README configuration table matches the config schemas (run `node scripts/config-table.ts` after a change)", async () => {
  const readme = readFileSync(resolve(import.meta.dirname, "../README.md"), "utf8");
  assert.equal(readme, await withConfigTable(readme));
});
