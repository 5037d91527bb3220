// Bundles the CLI (bin/eventfleet.js and everything it imports) into plain JavaScript for the image: no type
// stripping and no walk through node_modules at start. Each role stays its own lazily imported chunk, and V8's
// compiled code for every chunk is cached beside them (scripts/compile-cache.ts), so a fresh process skips parsing.
//   node scripts/bundle.ts [outdir] [--cache-uid <uid>]   (default dist/; the image runs dist/eventfleet.js)
import { createHash } from "node:crypto";
import { chmod, cp, readFile, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";
import { BUNDLE_EXTERNALS } from "./bundle-externals.ts";
import { COMPILE_CACHE_DIR, warmCompileCache } from "./compile-cache.ts";

const ROOT = resolve(import.meta.dirname, "..");

/**
 * Our modules read files beside them (Lua scripts, package.json) through `import.meta.url`. In a bundle that would
 * be the chunk's URL, so each module's `import.meta` file references are rewritten to its source path, relative to
 * the chunk: the image ships those data files at the same paths under /app.
 */
function sourceLocation(outdir: string): Plugin {
  return {
    name: "source-location",
    setup(on) {
      on.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        if (args.path.includes(`${"/"}node_modules${"/"}`)) return undefined;
        const text = await readFile(args.path, "utf8");
        if (!text.includes("import.meta.")) return undefined;
        const fromChunk = relative(outdir, args.path);
        const url = `new URL(${JSON.stringify(fromChunk)}, import.meta.url)`;
        return {
          contents: text
            .replaceAll("import.meta.url", `${url}.href`)
            .replaceAll("import.meta.dirname", `__fileURLToPath(new URL(".", ${url}))`)
            .replaceAll("import.meta.filename", `__fileURLToPath(${url})`),
          loader: args.path.endsWith(".ts") ? "ts" : "js",
        };
      });
    },
  };
}

/**
 * Node built-ins that bundled code imports with `import` or `import()` are loaded with require() instead. An ES import of
 * a built-in makes Node build its ES module facade, which reads every export, lazy ones included: `import ... from
 * "node:http"` thereby loads Node's internal undici for http's WebSocket getter (~40 ms of a role's start, and its
 * memory), though no role uses it.
 * A static import becomes CommonJS interop, which reads an export when code uses it (a one-line module per
 * importer). A dynamic import gets a module of its own (a chunk) whose named exports are the built-in's plain values,
 * read once (the OTLP exporter's `const { Agent } = await import("http")`, the AWS SDK's IMDS credentials'
 * `const { request } = await import("node:http")`); lazy getters (http's WebSocket, CloseEvent, MessageEvent) are
 * left out of those.
 */
function builtinsByRequire(): Plugin {
  return {
    name: "builtins-by-require",
    setup(on) {
      on.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
        if (!isBuiltin(args.path)) return undefined;
        const path = args.path.replace(/^(node:)?/, "node:");
        // One module per importer, which then lives in the importer's chunk: a module shared by importers in different
        // chunks would be a chunk of its own (15 one-line chunks per role, ~0.4 ms of the ES module loader each).
        if (args.kind === "import-statement") {
          const importer = createHash("sha256")
            .update(relative(ROOT, args.importer))
            .digest("hex")
            .slice(0, 8);
          return { path: `${path}#${importer}`, namespace: "builtin-by-require" };
        }
        if (args.kind === "dynamic-import") return { path, namespace: "builtin-by-require-dynamic" };
        return undefined;
      });
      on.onLoad({ filter: /.*/, namespace: "builtin-by-require" }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path.replace(/#.*$/, ""))});`,
        loader: "js",
      }));
      on.onLoad({ filter: /.*/, namespace: "builtin-by-require-dynamic" }, (args) => {
        const builtin = createRequire(import.meta.url)(args.path) as object;
        const plain = Object.entries(Object.getOwnPropertyDescriptors(builtin))
          .filter(([name, descriptor]) => "value" in descriptor && /^[A-Za-z_$][\w$]*$/.test(name))
          .map(([name]) => name)
          .filter((name) => name !== "default");
        return {
          contents: [
            `const builtin = require(${JSON.stringify(args.path)});`,
            "export default builtin;",
            ...plain.map((name) => `export const ${name} = builtin.${name};`),
          ].join("\n"),
          loader: "js",
        };
      });
    },
  };
}

/**
 * zod's `z.locales` namespace re-exports all of its ~50 error-message locales, and a namespace cannot be tree-shaken:
 * 390 KiB of the 800 KiB of zod every role loads. eventfleet's messages are English (zod's default, `en`, which zod
 * imports itself): in the bundle `z.locales` holds `en` alone.
 */
function zodEnglishOnly(): Plugin {
  return {
    name: "zod-english-only",
    setup(on) {
      on.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[/\\]node_modules[/\\]zod[/\\]/.test(args.importer)
          ? { path: join(dirname(args.importer), "../locales/en.js"), namespace: "zod-english-only" }
          : undefined,
      );
      on.onLoad({ filter: /.*/, namespace: "zod-english-only" }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        loader: "js",
        resolveDir: dirname(args.path),
      }));
    },
  };
}

/**
 * A plugin that loads the package files `filter` matches through `rewrite` (the file's text and path → the text to
 * bundle instead; unchanged text is bundled as it is).
 */
function packageFileRewrite(
  name: string,
  filter: RegExp,
  rewrite: (text: string, path: string) => string,
): Plugin {
  return {
    name,
    setup(on) {
      on.onLoad({ filter }, async (args) => ({
        contents: rewrite(await readFile(args.path, "utf8"), args.path),
        loader: "js",
        resolveDir: dirname(args.path),
      }));
    },
  };
}

/** `typeof FormData !== "undefined" && body instanceof FormData`, as the Azure SDK's HTTP runtime writes it. */
const FORM_DATA_CHECK = /typeof FormData !== "undefined" && (\w+) instanceof FormData/g;

/**
 * Node's global FormData is a lazy getter that loads Node's internal undici (fetch, WebSocket, ...): 20–30 ms of CPU
 * and ~5 MiB. The Azure SDK's HTTP runtime (@typespec/ts-http-runtime) asks `typeof FormData` of every request body,
 * so device-ingest's first Blob or Cosmos request paid for undici, though no role sends a FormData. In the bundle,
 * that check first asks the body itself: an object tagged "FormData" (as every FormData is: Symbol.toStringTag) is
 * then checked as before; a string, buffer or stream body never touches the global.
 */
function formDataCheckWithoutGlobal(): Plugin {
  return packageFileRewrite(
    "form-data-check-without-global",
    /[/\\]node_modules[/\\]@typespec[/\\]ts-http-runtime[/\\].*\.js$/,
    (text) =>
      text.replace(
        FORM_DATA_CHECK,
        (_, body: string) =>
          `(${body} !== null && typeof ${body} === "object" && ${body}[Symbol.toStringTag] === "FormData" && ` +
          `typeof FormData !== "undefined" && ${body} instanceof FormData)`,
      ),
  );
}

/** ioredis' loop that puts a method per Redis command (and its Buffer twin) on Commander.prototype. */
const IOREDIS_COMMAND_LOOP = "commands.forEach(function (commandName) {";

/**
 * ioredis adds ~600 command methods to Commander.prototype one by one when it loads. Each addition to an object in V8's
 * fast mode makes a new hidden class with a copy of every property so far: quadratic, ~11 ms of every Redis role's
 * start (measured: 0.6 ms once the object is a dictionary). Two properties added and deleted first turn the prototype
 * into a dictionary; V8 makes it fast again, once, when it is first used as a prototype. The methods are the same.
 */
function ioredisCommandsInDictionaryMode(): Plugin {
  const normalize =
    "Commander.prototype.__dictionaryModeA = 0; Commander.prototype.__dictionaryModeB = 0; " +
    "delete Commander.prototype.__dictionaryModeA; delete Commander.prototype.__dictionaryModeB;\n";
  return packageFileRewrite(
    "ioredis-commands-in-dictionary-mode",
    /[/\\]node_modules[/\\]ioredis[/\\]built[/\\]utils[/\\]Commander\.js$/,
    (text, path) => {
      if (!text.includes(IOREDIS_COMMAND_LOOP)) {
        throw new Error(
          `${path}: ioredis no longer defines its commands with "${IOREDIS_COMMAND_LOOP}"; ` +
            "update ioredisCommandsInDictionaryMode in scripts/bundle.ts to the new version",
        );
      }
      return text.replace(IOREDIS_COMMAND_LOOP, normalize + IOREDIS_COMMAND_LOOP);
    },
  );
}

/** Relative to the bundle's directory: iconv-lite's double-byte code tables, as files beside the chunks. */
export const ICONV_TABLES_DIR = "iconv-lite-tables";

/**
 * iconv-lite (body-parser's decoder) requires its CJK code tables (shiftjis.json, cp936.json, ...) only when such an
 * encoding is first used, which the API never does (its JSON parser refuses every charset but UTF-8/16/32). Bundled,
 * they were still 420 KB of the API's main chunk, read, hashed and kept in memory by every API pod. They stay
 * JSON files beside the chunks (ICONV_TABLES_DIR, copied by the bundle step), required from there if ever needed.
 */
function iconvTablesBesideChunks(): Plugin {
  return {
    name: "iconv-tables-beside-chunks",
    setup(on) {
      on.onResolve({ filter: /^\.\/tables\/[\w-]+\.json$/ }, (args) =>
        /[/\\]node_modules[/\\]iconv-lite[/\\]/.test(args.importer)
          ? { path: `./${ICONV_TABLES_DIR}/${args.path.slice("./tables/".length)}`, external: true }
          : undefined,
      );
    },
  };
}

/** Copies iconv-lite's code tables into the bundle (see iconvTablesBesideChunks). */
async function copyIconvTables(outdir: string): Promise<void> {
  const tables = join(
    dirname(createRequire(import.meta.url).resolve("iconv-lite/package.json")),
    "encodings/tables",
  );
  await cp(tables, join(outdir, ICONV_TABLES_DIR), {
    recursive: true,
    filter: (path) => !path.endsWith(".md"),
  });
}

/**
 * The entry the image runs: it turns on Node's compile cache (dist/compile-cache, filled by warmCompileCache) before
 * the CLI's first chunk is even parsed, then runs the CLI. Without the cache (another uid, another Node, a changed
 * chunk) Node compiles as usual: the cache only saves time. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
const ENTRY_STUB = `#!/usr/bin/env node
// Written by scripts/bundle.ts: compile cache on (V8 code of the chunks, keyed by content), then the CLI (cli.js).
import { enableCompileCache } from "node:module";
import { fileURLToPath } from "node:url";
enableCompileCache({ directory: fileURLToPath(new URL("./${COMPILE_CACHE_DIR}", import.meta.url)), portable: true });
await import("./cli.js");
`;

/** The entry of a `plain` bundle: the CLI alone. */
const PLAIN_ENTRY_STUB = `#!/usr/bin/env node
await import("./cli.js");
`;

/**
 * The chunks that load without devDependencies (so in the image), apart from the CLI's entry, which runs the CLI:
 * those the compile cache is filled for. A chunk is out when it, or a chunk it statically imports, imports a
 * devDependency (the `dev` and `emulator` commands' chunks).
 */
function runnableChunks(metafile: Metafile, outdir: string, devDependencies: readonly string[]): string[] {
  const chunks = new Map(
    Object.entries(metafile.outputs)
      .filter(([path]) => path.endsWith(".js"))
      .map(([path, output]) => [relative(outdir, resolve(ROOT, path)), output]),
  );
  const isDev = (specifier: string) =>
    devDependencies.some((name) => specifier === name || specifier.startsWith(`${name}/`));
  const needsDev = new Map<string, boolean>();
  const check = (name: string): boolean => {
    const known = needsDev.get(name);
    if (known !== undefined) return known;
    needsDev.set(name, false); // import cycles between chunks
    const imports = (chunks.get(name)?.imports ?? []).filter((i) => i.kind === "import-statement");
    const result = imports.some((i) =>
      i.external ? isDev(i.path) : check(relative(outdir, resolve(ROOT, i.path))),
    );
    needsDev.set(name, result);
    return result;
  };
  return [...chunks.keys()].filter((name) => name !== "cli.js" && !check(name)).sort();
}

export interface BundleOptions {
  /**
   * The bundle as it was before the start-up work, for the benchmarks' before/after figures only: packages' CommonJS
   * builds, built-ins by import, unminified, no compile cache.
   */
  plain?: boolean;
  /**
   * Whose compile cache to fill: Node keeps one per uid, so the image fills the one of the uid it runs as (the build
   * runs as root). Default: this process's uid.
   */
  cacheUid?: number;
}

export async function bundle(
  outdir = join(ROOT, "dist"),
  options: BundleOptions = {},
): Promise<{ entry: string }> {
  const packageJson = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    devDependencies?: Record<string, string>;
  };
  const devDependencies = Object.keys(packageJson.devDependencies ?? {});
  const plain = options.plain ?? false;
  const { metafile } = await build({
    metafile: true,
    entryPoints: { cli: join(ROOT, "bin/eventfleet.js") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22.18",
    // Packages' ES module builds (the AWS SDK's dist-es) over their CommonJS ones: esbuild then drops what a role
    // never imports, e.g. @smithy/node-http-handler's HTTP/2 handler and with it node:http2 (~9 MiB RSS, ~40 ms).
    mainFields: plain ? ["main", "module"] : ["module", "main"],
    // Less source to read and keep in memory; identifiers stay, so stack traces name our functions.
    minifyWhitespace: !plain,
    minifySyntax: !plain,
    // CommonJS packages inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js:
        'import { createRequire as __createRequire } from "node:module"; import { fileURLToPath as __fileURLToPath } from "node:url"; ' +
        "const require = __createRequire(import.meta.url);",
    },
    // devDependencies (the emulators behind `eventfleet dev`) are not in the image: `dev` needs a checkout.
    external: [...BUNDLE_EXTERNALS, ...devDependencies],
    // Chunks beside the entry: the rewritten source paths are relative to that one directory.
    chunkNames: "[name]-[hash]",
    plugins: plain
      ? [sourceLocation(outdir)]
      : [
          builtinsByRequire(),
          zodEnglishOnly(),
          formDataCheckWithoutGlobal(),
          ioredisCommandsInDictionaryMode(),
          iconvTablesBesideChunks(),
          sourceLocation(outdir),
        ],
    legalComments: "linked",
    logLevel: "warning",
  });
  const entry = join(outdir, "eventfleet.js");
  await writeFile(entry, plain ? PLAIN_ENTRY_STUB : ENTRY_STUB);
  await chmod(entry, 0o755);
  if (plain) return { entry };
  await copyIconvTables(outdir);
  await warmCompileCache(outdir, runnableChunks(metafile, outdir, devDependencies), options.cacheUid);
  return { entry };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { "cache-uid": { type: "string" } },
    allowPositionals: true,
  });
  const outdir = resolve(positionals[0] ?? join(ROOT, "dist"));
  const cacheUid = values["cache-uid"] === undefined ? undefined : Number(values["cache-uid"]);
  const { entry } = await bundle(outdir, cacheUid === undefined ? {} : { cacheUid });
  process.stderr.write(`bundle: ${relative(process.cwd(), entry)} (${pathToFileURL(entry).href})\n`);
}
