// What a chaos run found: the faults it injected, what it checked, and every violation with the ids involved.

export interface InjectedFault {
  /** ms since the scenario started. */
  atMs: number;
  kind: string;
  target: string;
  /** e.g. how long the target was down, or its exit. */
  detail: string;
}

export interface InvariantResult {
  name: string;
  /** How many things were checked (orders, events, ...). */
  checked: number;
  /** Ids (or short descriptions) that broke the invariant; empty when it holds. */
  violations: string[];
}

export interface ChaosResult {
  scenario: string;
  parameters: Record<string, string | number | boolean>;
  durationMs: number;
  faults: InjectedFault[];
  /** Counts worth knowing that are not invariants (retries, duplicates absorbed, ...). */
  counts: Record<string, number>;
  invariants: InvariantResult[];
}

export function violationCount(result: ChaosResult): number {
  return result.invariants.reduce((n, i) => n + i.violations.length, 0);
}

/** One-line failure text for tests: each broken invariant with its first ids. */
export function describeViolations(result: ChaosResult): string {
  return result.invariants
    .filter((i) => i.violations.length > 0)
    .map((i) => `${i.name}: ${i.violations.length} (${i.violations.slice(0, 5).join("; ")})`)
    .join("\n");
}

/** Records faults with their time relative to the scenario start. */
export class FaultLog {
  readonly faults: InjectedFault[] = [];
  readonly #started = performance.now();

  elapsedMs(): number {
    return performance.now() - this.#started;
  }

  /** `atMs` defaults to now; pass the time the fault began when recording it after recovery. */
  record(kind: string, target: string, detail: string, atMs = this.elapsedMs()): void {
    this.faults.push({ atMs: Math.round(atMs), kind, target, detail });
  }
}

export function renderChaosMarkdown(result: ChaosResult): string {
  const lines: string[] = [];
  const violations = violationCount(result);
  lines.push(`## ${result.scenario}: ${violations === 0 ? "PASS" : `FAIL (${violations} violations)`}`, "");
  lines.push(
    `Parameters: ${Object.entries(result.parameters)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}; duration ${(result.durationMs / 1000).toFixed(1)} s.`,
    "",
  );
  lines.push(`### Faults injected (${result.faults.length})`, "");
  if (result.faults.length === 0) lines.push("none", "");
  else {
    lines.push("| at (s) | fault | target | detail |", "|---:|---|---|---|");
    for (const f of [...result.faults].sort((a, b) => a.atMs - b.atMs))
      lines.push(`| ${(f.atMs / 1000).toFixed(1)} | ${f.kind} | ${f.target} | ${f.detail} |`);
    lines.push("");
  }
  lines.push("### Invariants", "", "| invariant | checked | violations | ids |", "|---|---:|---:|---|");
  for (const i of result.invariants) {
    const ids = i.violations.slice(0, 10).join("<br>") + (i.violations.length > 10 ? "<br>…" : "");
    lines.push(`| ${i.name} | ${i.checked} | ${i.violations.length} | ${ids || "–"} |`);
  }
  lines.push("", "### Counts", "");
  for (const [k, v] of Object.entries(result.counts)) lines.push(`- ${k}: ${v}`);
  lines.push("");
  return lines.join("\n");
}
