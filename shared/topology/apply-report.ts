// What `infra apply` did to one resource; one printed line each.

export type ApplyAction =
  "created" | "exists" | "updated" | "would create" | "would update" | "skipped" | "verified";

export interface ApplyResult {
  kind: string;
  name: string;
  action: ApplyAction;
  detail?: string;
}

export type ApplyReporter = (result: ApplyResult) => void;

export function formatApplyResult(result: ApplyResult): string {
  const detail = result.detail ? ` (${result.detail})` : "";
  return `${result.action.padEnd(12)} ${result.kind.padEnd(22)} ${result.name}${detail}`;
}

/** Outcome for a resource that is present: unchanged, or changed (or would be, on a dry run). */
export function changed(needsUpdate: boolean, dryRun: boolean): ApplyAction {
  if (!needsUpdate) return "exists";
  return dryRun ? "would update" : "updated";
}
