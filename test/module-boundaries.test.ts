// The seams between components, read from the sources: no worker imports another worker, benchmarks and tests
// import test/support (never the reverse), Redis keys are built in one module, the outbox entry is written once.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./support/repo-root.ts";

/** Every file under the code folders (not node_modules or tool folders), as repository paths. */
function sources(extension: string): string[] {
  return ["api", "bench", "cli", "dev", "scripts", "shared", "test", "workers"].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(extension) && !file.includes("node_modules"))
      .map((file) => `${dir}/${file}`),
  );
}

/** The repository paths a TypeScript file imports (relative specifiers only). */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const folder = file.split("/").slice(0, -1);
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) => {
    const parts = [...folder];
    for (const part of match[1]!.split("/")) {
      if (part === "..") parts.pop();
      else if (part !== ".") parts.push(part);
    }
    return parts.join("/");
  });
}

const typescript = sources(".ts");

test("no worker imports another worker's folder (shared code lives in shared/ or workers/sqs-runtime)", () => {
  const crossings = typescript.flatMap((file) => {
    const own = /^workers\/([^/]+)\//.exec(file)?.[1];
    if (!own) return [];
    return imports(file)
      .filter((target) => {
        const other = /^workers\/([^/]+)\//.exec(target)?.[1];
        return other !== undefined && other !== own && other !== "sqs-runtime";
      })
      .map((target) => `${file} → ${target}`);
  });
  assert.deepEqual(crossings, []);
});

test("test support is test/support: tests do not import bench/, and product code imports no test code", () => {
  const wrong = typescript.flatMap((file) =>
    imports(file)
      .filter((target) =>
        file.startsWith("test/")
          ? target.startsWith("bench/")
          : !file.startsWith("bench/") && !file.endsWith(".test.ts") && target.startsWith("test/"),
      )
      .map((target) => `${file} → ${target}`),
  );
  assert.deepEqual(wrong, []);
});

test("Redis keys are built in shared/redis-keys.ts only, and the outbox entry is written in one Lua piece", () => {
  const product = typescript.filter((file) => !file.endsWith(".test.ts") && !/^(test|bench)\//.test(file));
  assert.deepEqual(
    product.filter(
      (file) =>
        file !== "shared/redis-keys.ts" &&
        /[`"']ef:(\$\{|[`"']\s*\+)/.test(readFileSync(join(ROOT, file), "utf8")),
    ),
    [],
  );
  assert.deepEqual(
    sources(".lua").filter((file) => /redis\.call\(\s*'XADD'/i.test(readFileSync(join(ROOT, file), "utf8"))),
    ["shared/orders/lua/outbox-events.lua"],
  );
});
