// What `simulate orders` tells its user: a progress line that fits the terminal, the totals, and why orders failed.
import type { SimulationProgress } from "../api/order-simulator.ts";

/** Everything the lines below need besides the running totals. */
export interface ReportContext {
  count: number;
  rate: number;
  apiUrl: string;
  percentile(sorted: readonly number[], p: number): number;
}

/** Orders the API answered (or failed to answer) so far. */
export const answered = (p: SimulationProgress) =>
  p.accepted + p.failed + Object.values(p.refused).reduce((a, b) => a + b, 0);

function parts(p: SimulationProgress, context: ReportContext) {
  const rate = p.elapsedMs > 0 ? (answered(p) * 1000) / p.elapsedMs : 0;
  const refused = Object.entries(p.refused)
    .map(([status, n]) => `${status}×${n}`)
    .join(" ");
  const sorted = [...p.latenciesMs].sort((a, b) => a - b);
  return {
    totals: `orders ${answered(p)}/${context.count} · accepted ${p.accepted} · refused ${refused || 0} · failed ${p.failed}`,
    rate: `${rate.toFixed(1)}/s`,
    latency: `p50 ${context.percentile(sorted, 50).toFixed(1)} ms · p99 ${context.percentile(sorted, 99).toFixed(1)} ms`,
  };
}

/** The whole line: what the run ends with (printed once, so its length does not matter). */
export function summaryLine(p: SimulationProgress, context: ReportContext): string {
  const { totals, rate, latency } = parts(p, context);
  return `${totals} · ${rate} · ${latency}`;
}

/**
 * The live line for a terminal `maxWidth` columns wide: the richest variant that fits (latencies, then the rate,
 * then the bar go first), so redrawing it in place never wraps onto a new line. One column stays free, as a line
 * that fills the last column leaves some terminals about to wrap.
 */
export function progressLine(
  p: SimulationProgress,
  context: ReportContext,
  bar: (width: number) => string,
  maxWidth: number,
): string {
  const { totals, rate, latency } = parts(p, context);
  const room = maxWidth - 1;
  const withBar = (rest: string) => {
    const barWidth = Math.min(30, room - rest.length - 3);
    return barWidth >= 10 ? `[${bar(barWidth)}] ${rest}` : undefined;
  };
  const variants = [
    withBar(`${totals} · ${rate} · ${latency}`),
    `${totals} · ${rate} · ${latency}`,
    withBar(`${totals} · ${rate}`),
    `${totals} · ${rate}`,
    totals,
  ];
  return variants.find((v) => v !== undefined && v.length <= room) ?? totals.slice(0, room);
}

/** One line per kind of trouble, each saying what happened and what to do about it. */
export function troubleLines(p: SimulationProgress, context: ReportContext): string[] {
  const lines: string[] = [];
  for (const [status, n] of Object.entries(p.refused)) {
    const said = p.refusedBecause[Number(status)] ?? "";
    const fix =
      status === "429"
        ? `; lower --rate (now ${context.rate}/s) below the API's limit, or raise RATE_LIMIT_PER_SECOND on the API`
        : status === "401" || status === "403"
          ? "; pass --api-key or --token with the orders:write scope"
          : "";
    lines.push(`refused ${status}×${n}: ${said}${fix}`);
  }
  for (const [what, n] of Object.entries(p.failures)) {
    const fix = what.startsWith("no answer: ECONNREFUSED")
      ? `; is the API running at ${context.apiUrl}? (make dev, or point --api-url / API_URL at it)`
      : what.startsWith("HTTP 501")
        ? `; the API at ${context.apiUrl} does not implement this (an older or different build?)`
        : "";
    lines.push(`failed ${n}×: ${what}${fix}`);
  }
  return lines;
}
