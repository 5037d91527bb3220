// Summarises a V8 .cpuprofile (node --cpu-prof): where a process spent its CPU, by package and by our own functions.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface ProfileSummary {
  file: string;
  /** Wall time covered by the profile, ms. */
  durationMs: number;
  /** Share of samples not idle. */
  busyShare: number;
  /** Share of busy samples, by where the code lives. */
  byArea: Array<{ area: string; share: number }>;
  /** Our own functions with the most self time (share of busy samples). */
  ourTopFunctions: Array<{ fn: string; share: number }>;
}

function area(node: ProfileNode, root: string): string {
  const { functionName, url } = node.callFrame;
  if (!url) {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "V8/native (program)";
    if (/^write(v|Utf8String|Buffer|Latin1String)$/.test(functionName)) return "native: socket writes";
    return `native: ${functionName || "(anonymous)"}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  if (/^node:internal\/(modules|main)|typescript/.test(url))
    return "Node: module loading, type stripping (startup)";
  if (url.startsWith("node:")) {
    const module = url.replace(/^node:(internal\/)?/, "").split("/")[0] ?? url;
    return `Node: ${module}`;
  }
  const path = url.replace(/^file:\/\//, "");
  if (path.startsWith(root)) return `ours: ${path.slice(root.length + 1).split("/")[0]}/`;
  return "other";
}

export function summarizeProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  let busy = 0;
  const areas = new Map<string, number>();
  const ours = new Map<string, number>();
  for (const [id, count] of hits) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") continue;
    busy += count;
    const a = area(node, root);
    areas.set(a, (areas.get(a) ?? 0) + count);
    if (a.startsWith("ours:")) {
      const path = node.callFrame.url.replace(/^file:\/\//, "").slice(root.length + 1);
      const key = `${node.callFrame.functionName || "(anonymous)"} ${path}:${node.callFrame.lineNumber + 1}`;
      ours.set(key, (ours.get(key) ?? 0) + count);
    }
  }
  const share = (n: number) => Math.round((n / Math.max(1, busy)) * 1000) / 10;
  return {
    file,
    durationMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyShare: share(busy) === 0 ? 0 : Math.round((busy / profile.samples.length) * 1000) / 10,
    byArea: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([a, n]) => ({ area: a, share: share(n) })),
    ourTopFunctions: [...ours]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([fn, n]) => ({ fn, share: share(n) })),
  };
}

export function renderProfile(title: string, s: ProfileSummary): string {
  return [
    `#### ${title} (${(s.durationMs / 1000).toFixed(0)} s profiled, busy ${s.busyShare}% of samples)`,
    "",
    "| where the busy CPU went | share |",
    "|---|---:|",
    ...s.byArea.map((a) => `| ${a.area} | ${a.share}% |`),
    "",
    "Our functions with the most self time: " +
      (s.ourTopFunctions.map((f) => `\`${f.fn}\` ${f.share}%`).join(", ") || "none sampled") +
      ".",
  ].join("\n");
}
