// One memory-reducing garbage collection once a role has started: loading its code leaves garbage and half-empty heap
// pages that an idle process never collects (V8 collects when it allocates), so a pod would keep them for its life.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** V8's gc() with options (exposed by --expose-gc); `last-resort` is the collection V8 runs under memory pressure. */
type GcFunction = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

export interface HeapCompaction {
  heapBeforeBytes: number;
  heapAfterBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  tookMs: number;
}

let gcFunction: GcFunction | undefined;

/**
 * V8's gc() without starting Node with --expose-gc: the flag set now applies to contexts created afterwards, so a new
 * context has gc() while this one's global stays as it was. The one way Node offers to ask for a full collection.
 */
function gc(): GcFunction {
  if (!gcFunction) {
    setFlagsFromString("--expose-gc");
    gcFunction = runInNewContext("gc") as GcFunction;
  }
  return gcFunction;
}

/**
 * Runs a full, compacting collection that also shrinks the young generation (the collection V8 runs when memory is
 * low), and says what it gave back. It stops the process for a few tens of milliseconds: run it once, after start.
 */
export function compactHeap(): HeapCompaction {
  const before = process.memoryUsage();
  const started = performance.now();
  gc()({ type: "major", execution: "sync", flavor: "last-resort" });
  const tookMs = performance.now() - started;
  const after = process.memoryUsage();
  return {
    heapBeforeBytes: before.heapTotal,
    heapAfterBytes: after.heapTotal,
    rssBeforeBytes: before.rss,
    rssAfterBytes: after.rss,
    tookMs,
  };
}
