// The cluster-side commands of a Markdown guide or runbook, in page order: kubectl, helm and `make deploy` lines
// from its ```sh blocks (continuations joined, comments dropped), and from inline `code` when asked.
import { readFileSync } from "node:fs";

export interface GuideCommand {
  /** 1-based line of the page where the command starts. */
  line: number;
  /** The command as a shell would see it, on one line. */
  text: string;
}

const CLUSTER_TOOLS = /^(?:[A-Z_]+=\S+\s+)*(kubectl|helm|make\s+deploy)\b/;
/** Shell assignments whose value is a cluster command (`OP=$(kubectl ... )`): kept, the runner evaluates them. */
const ASSIGNED_CLUSTER_COMMAND = /^[A-Z_]+=\$\((kubectl|helm)\b/;

/** Drops a trailing `# comment` that is outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line;
}

/** Every command line of the ```sh blocks, with its page line; heredoc bodies and loop bodies are skipped. */
function shellLines(markdown: string): GuideCommand[] {
  const out: GuideCommand[] = [];
  const lines = markdown.split("\n");
  let inBlock = false;
  let heredoc: string | undefined;
  let pending: GuideCommand | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*```/.test(raw)) {
      inBlock = !inBlock && /^\s*```(sh|bash|shell)\s*$/.test(raw);
      pending = undefined;
      continue;
    }
    if (!inBlock) continue;
    if (heredoc) {
      if (raw.trim() === heredoc) heredoc = undefined;
      continue;
    }
    const marker = /<<-?\s*'?"?([A-Z_]+)'?"?/.exec(raw);
    if (marker) heredoc = marker[1];
    const text = stripComment(raw.trim());
    if (pending) pending.text += ` ${text.replace(/\\$/, "").trim()}`;
    else pending = { line: i + 1, text: text.replace(/\\$/, "").trim() };
    if (!text.endsWith("\\")) {
      if (pending.text) out.push(pending);
      pending = undefined;
    }
  }
  return out;
}

/** A variable assignment of the page (`export A=1 B=2`, `X=$(...)`): the runner needs the names later. */
export const ASSIGNMENT = /^(?:export\s+)?[A-Z_][A-Z0-9_]*=/;

/**
 * The cluster-side commands of a page's ```sh blocks, in order, with the variable assignments between them;
 * `a && b` becomes two commands and a pipe keeps its first command (the rest filters output).
 */
export function clusterCommands(markdown: string): GuideCommand[] {
  return shellLines(markdown)
    .flatMap((c) => c.text.split(/\s+&&\s+/).map((text) => ({ line: c.line, text: text.trim() })))
    .map((c) => ({ ...c, text: ASSIGNED_CLUSTER_COMMAND.test(c.text) ? c.text : firstOfPipe(c.text) }))
    .filter((c) => CLUSTER_TOOLS.test(c.text) || ASSIGNMENT.test(c.text));
}

/** The command before the first unquoted `|`. */
function firstOfPipe(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "|" && text[i + 1] !== "|") return text.slice(0, i).trim();
  }
  return text;
}

/** Cluster commands in inline `code` spans of a page (runbooks write most of theirs inline), then its blocks. */
export function inlineClusterCommands(markdown: string): GuideCommand[] {
  const out: GuideCommand[] = [];
  markdown.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      const text = m[1]!.trim();
      if (/^(kubectl|helm)\s/.test(text)) out.push({ line: i + 1, text: firstOfPipe(text) });
    }
  });
  // Blocks too, and all in page order: a later command may use what an earlier one set (`OP=$(...)`).
  return [...out, ...clusterCommands(markdown)].sort((a, b) => a.line - b.line);
}

export function readGuide(path: string): string {
  return readFileSync(path, "utf8");
}

/** Splits one command line into words as a POSIX shell would (quotes, backslashes), expanding `$VAR`s. */
export function shellWords(text: string, vars: Record<string, string>): string[] {
  const words: string[] = [];
  let word = "";
  let has = false;
  const expand = (s: string) =>
    s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, name: string) => {
      const value = vars[name];
      if (value === undefined) throw new Error(`$${name} is not set at this point of the guide`);
      return value;
    });
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word += text.slice(i + 1, end);
      i = end;
      has = true;
    } else if (c === '"') {
      let j = i + 1;
      let chunk = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\" && j + 1 < text.length) {
          chunk += text[j + 1];
          j += 2;
        } else chunk += text[j++];
      }
      word += expand(chunk);
      i = j;
      has = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(word);
      word = "";
      has = false;
    } else {
      let j = i;
      while (j < text.length && !/[\s'"\\]/.test(text[j]!)) j++;
      word += expand(text.slice(i, j));
      i = j - 1;
      has = true;
    }
  }
  if (has) words.push(word);
  return words;
}
