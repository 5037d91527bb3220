// Bundles the CLI (bin/eventfleet.js and everything it imports) into plain JavaScript for the image: no type
// stripping and no walk through node_modules at start. Each role stays its own lazily imported chunk.
//   node scripts/bundle.ts [outdir]        (default dist/; the image runs dist/eventfleet.js)
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { BUNDLE_EXTERNALS } from "./bundle-externals.ts";

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

export async function bundle(outdir = join(ROOT, "dist")): Promise<{ entry: string }> {
  const packageJson = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    devDependencies?: Record<string, string>;
  };
  await build({
    entryPoints: { eventfleet: join(ROOT, "bin/eventfleet.js") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22.18",
    // CommonJS packages inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js:
        'import { createRequire as __createRequire } from "node:module"; import { fileURLToPath as __fileURLToPath } from "node:url"; ' +
        "const require = __createRequire(import.meta.url);",
    },
    // devDependencies (the emulators behind `eventfleet dev`) are not in the image: `dev` needs a checkout.
    external: [...BUNDLE_EXTERNALS, ...Object.keys(packageJson.devDependencies ?? {})],
    // Chunks beside the entry: the rewritten source paths are relative to that one directory.
    chunkNames: "[name]-[hash]",
    plugins: [sourceLocation(outdir)],
    legalComments: "linked",
    logLevel: "warning",
  });
  return { entry: join(outdir, "eventfleet.js") };
}

if (import.meta.main) {
  const outdir = resolve(process.argv[2] ?? join(ROOT, "dist"));
  const { entry } = await bundle(outdir);
  process.stderr.write(`bundle: ${relative(process.cwd(), entry)} (${pathToFileURL(entry).href})\n`);
}
