// Fills the bundle's compile cache: V8's compiled code for every chunk, stored beside them (dist/compile-cache), which
// the entry stub turns on (module.enableCompileCache, portable) so a fresh process skips parsing and compiling them.
//   node scripts/compile-cache.ts <outdir> <chunk>...   (the warm step itself: run by warmCompileCache as the runtime's uid)
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { constants, enableCompileCache, flushCompileCache } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/** Relative to the bundle's directory. */
export const COMPILE_CACHE_DIR = "compile-cache";

function walk(dir: string, visit: (path: string, isDir: boolean) => void): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const isDir = statSync(path).isDirectory();
    if (isDir) walk(path, visit);
    visit(path, isDir);
  }
}

/** Entries the cache holds, over every uid's subdirectory. */
export function compileCacheEntries(outdir: string): number {
  let files = 0;
  walk(join(outdir, COMPILE_CACHE_DIR), (_, isDir) => (files += isDir ? 0 : 1));
  return files;
}

/**
 * Imports `chunks` (file names in `outdir`) with the compile cache on, in a process of its own running as `uid`
 * (Node keeps a cache per uid: the image's build runs as root, its roles as 10001). A chunk's top level only defines
 * its modules: roles start when the CLI calls their main(). With `uid`, the cache is handed back to this
 * process's owner afterwards, readable by all and writable by none other: the runtime reads it and, on a read-only
 * root filesystem, cannot write it (Node then just does not store new entries).
 */
export async function warmCompileCache(
  outdir: string,
  chunks: readonly string[],
  uid?: number,
): Promise<void> {
  const cacheDir = join(outdir, COMPILE_CACHE_DIR);
  mkdirSync(cacheDir, { recursive: true });
  const asOther = uid !== undefined && uid !== process.getuid?.();
  if (asOther) chownSync(cacheDir, uid, uid);
  try {
    await promisify(execFile)(process.execPath, [import.meta.filename, outdir, ...chunks], {
      ...(asOther ? { uid, gid: uid } : {}),
      timeout: 180_000,
    });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(
      `filling the compile cache in ${cacheDir} failed: ${(error as Error).message}\n${stderr ?? ""}`,
      { cause: error },
    );
  }
  if (asOther) {
    const [owner, group] = [process.getuid?.() ?? 0, process.getgid?.() ?? 0];
    walk(cacheDir, (path, isDir) => {
      chownSync(path, owner, group);
      chmodSync(path, isDir ? 0o755 : 0o644);
    });
    chownSync(cacheDir, owner, group);
  }
  if (compileCacheEntries(outdir) === 0) {
    throw new Error(
      `the compile cache in ${cacheDir} is empty after the warm step: is ${process.execPath} Node >= 22.1?`,
    );
  }
}

if (import.meta.main) {
  const [outdir, ...chunks] = process.argv.slice(2);
  if (!outdir) throw new Error("usage: node scripts/compile-cache.ts <bundle directory> <chunk>...");
  const result = enableCompileCache({ directory: join(outdir, COMPILE_CACHE_DIR), portable: true });
  const { ENABLED, ALREADY_ENABLED } = constants.compileCacheStatus;
  if (result.status !== ENABLED && result.status !== ALREADY_ENABLED) {
    throw new Error(`compile cache not enabled: ${result.message ?? `status ${result.status}`}`);
  }
  for (const name of chunks) await import(pathToFileURL(join(outdir, name)).href);
  flushCompileCache();
  process.exit(0);
}
