// Reads Node's compile cache log (NODE_DEBUG_NATIVE=COMPILE_CACHE on stderr): which of a bundle's chunks a process ran
// from the cache and which it had to compile.
export interface CompileCacheVerdicts {
  /** Chunk files (names) whose cached code V8 accepted. */
  accepted: string[];
  /** Chunk files compiled from source: no entry, or an entry V8 rejected. cli.js, never warmed, is left out. */
  compiled: string[];
  lines: string[];
}

/** `dir`: the bundle's directory as the process saw it (e.g. /app/dist/). */
export function compileCacheVerdicts(stderr: string, dir: string): CompileCacheVerdicts {
  const lines = stderr.split("\n").filter((line) => line.startsWith("[compile cache]"));
  const chunk = new RegExp(`ESM file://${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/?([\\w.-]+\\.js) `);
  const verdicts: CompileCacheVerdicts = { accepted: [], compiled: [], lines };
  for (const line of lines) {
    const name = chunk.exec(line)?.[1];
    if (!name) continue;
    if (/was accepted/.test(line)) verdicts.accepted.push(name);
    else if (/was not initialized|rejected|mismatch/.test(line) && name !== "cli.js")
      verdicts.compiled.push(name);
  }
  return verdicts;
}
