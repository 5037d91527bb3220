// Atomic Redis state changes live in .lua files beside their module; this defines them once as ioredis commands,
// resolving `-- #include <path from the repository root>` lines so that shared Lua pieces are written once.
import { readFileSync } from "node:fs";
import { Cluster } from "ioredis";
import type { RedisClient } from "./redis-connection.ts";

export type ScriptCommand<R = unknown> = (...args: (string | number)[]) => Promise<R>;

/** The repository root: include paths are written from here (`-- #include shared/orders/lua/stamp.lua`). */
const ROOT = new URL("../", import.meta.url);
const INCLUDE = /^--\s*#include\s+(\S+)\s*$/;

const sources = new Map<string, string>();

/**
 * The script at `url` with every `-- #include path` line replaced by that file (itself expanded), each file at
 * most once per script, in the order first included: pieces define `local function`s the including text uses.
 * Include paths are resolved from `root` (the repository root).
 */
export function expandLuaSource(
  url: URL,
  root: URL = ROOT,
  included = new Set<string>(),
  chain: string[] = [],
): string {
  const name = (href: string) => (href.startsWith(root.href) ? href.slice(root.href.length) : href);
  if (chain.includes(url.href)) {
    throw new Error(
      `Lua include cycle: ${[...chain, url.href].map(name).join(" → ")}; remove one of these includes`,
    );
  }
  let text: string;
  try {
    text = readFileSync(url, "utf8");
  } catch (error) {
    const from = chain.length > 0 ? ` (included from ${name(chain.at(-1)!)})` : "";
    throw new Error(
      `Lua script ${name(url.href)}${from} cannot be read: ${(error as Error).message}; ` +
        "include paths are written from the repository root, e.g. -- #include shared/orders/lua/stamp.lua",
      { cause: error },
    );
  }
  included.add(url.href);
  return text
    .split("\n")
    .map((line) => {
      const match = INCLUDE.exec(line);
      if (!match) return line;
      const target = new URL(match[1]!, root);
      const inChain = target.href === url.href || chain.includes(target.href);
      // Already in this script: its functions are defined above. In the chain: a cycle, reported below.
      if (included.has(target.href) && !inChain) return `-- (${match[1]} is included above)`;
      return expandLuaSource(target, root, included, [...chain, url.href]);
    })
    .join("\n");
}

function source(url: URL): string {
  let text = sources.get(url.href);
  if (text === undefined) {
    text = expandLuaSource(url);
    sources.set(url.href, text);
  }
  return text;
}

/**
 * Defines each script (`name → file`, the file relative to `moduleUrl`) on `redis` and returns callables bound to it.
 * ioredis sends EVALSHA and falls back to EVAL once, so each script is loaded once per server.
 */
export function defineLuaScripts<N extends string, R = unknown>(
  redis: RedisClient,
  moduleUrl: string,
  files: Record<N, string>,
): Record<N, ScriptCommand<R>> {
  const commands = {} as Record<N, ScriptCommand<R>>;
  for (const name of Object.keys(files) as N[]) {
    redis.defineCommand(name, { lua: source(new URL(files[name], moduleUrl)) });
    // ioredis' cluster autopipelining groups a script call by its first argument, here the key count, not by its
    // first key: scripts of different slots would share a pipeline and be refused ("same slots allocation
    // group"). On a cluster each script call goes out on its own.
    if (redis instanceof Cluster) {
      const ignored = redis.options.autoPipeliningIgnoredCommands ?? [];
      if (!ignored.includes(name)) redis.options.autoPipeliningIgnoredCommands = [...ignored, name];
    }
    const command = (redis as unknown as Record<N, ScriptCommand<R>>)[name];
    commands[name] = command.bind(redis);
  }
  return commands;
}
