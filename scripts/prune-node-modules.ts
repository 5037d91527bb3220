// Deletes from node_modules every package the bundle's externals (scripts/bundle-externals.ts) do not need, so the
// image carries only what the bundle cannot include. Run after scripts/bundle.ts, on a production install.
//   node scripts/prune-node-modules.ts [appdir]
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BUNDLE_EXTERNALS } from "./bundle-externals.ts";

/** The directory Node would load `name` from when required in `fromDir` (walking up node_modules folders). */
function resolvePackage(name: string, fromDir: string, appDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === appDir || dir === dirname(dir)) return undefined;
  }
}

/** Every package directory the externals reach through dependencies and optional dependencies. */
export function packagesNeeded(appDir: string, roots: readonly string[] = BUNDLE_EXTERNALS): Set<string> {
  const needed = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean) => {
    const dir = resolvePackage(name, fromDir, appDir);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name} (needed from ${fromDir}) is not installed; run npm ci --omit=dev first`);
    }
    if (needed.has(dir)) return;
    needed.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const root of roots) visit(root, appDir, false);
  return needed;
}

/** Removes the package directories under `modulesDir` (recursively, scopes included) that are not `needed`. */
function prune(modulesDir: string, needed: Set<string>): number {
  let removed = 0;
  for (const entry of readdirSync(modulesDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const path = join(modulesDir, entry.name);
    if (entry.name.startsWith("@")) {
      removed += prune(path, needed);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (!needed.has(path)) {
      rmSync(path, { recursive: true, force: true });
      removed += 1;
    } else if (existsSync(join(path, "node_modules"))) {
      removed += prune(join(path, "node_modules"), needed);
    }
  }
  return removed;
}

if (import.meta.main) {
  const appDir = resolve(process.argv[2] ?? ".");
  const needed = packagesNeeded(appDir);
  rmSync(join(appDir, "node_modules/.bin"), { recursive: true, force: true });
  const removed = prune(join(appDir, "node_modules"), needed);
  process.stderr.write(`prune-node-modules: kept ${needed.size} packages, removed ${removed}\n`);
}
