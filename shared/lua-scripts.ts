// Atomic Redis state changes live in .lua files beside their module; this defines them once as ioredis commands.
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

export type ScriptCommand<R = unknown> = (...args: (string | number)[]) => Promise<R>;

const sources = new Map<string, string>();

function source(url: URL): string {
  let text = sources.get(url.href);
  if (text === undefined) {
    text = readFileSync(url, "utf8");
    sources.set(url.href, text);
  }
  return text;
}

/**
 * Defines each script (`name → file`, the file relative to `moduleUrl`) on `redis` and returns callables bound to it.
 * ioredis sends EVALSHA and falls back to EVAL once, so each script is loaded once per server.
 */
export function defineLuaScripts<N extends string, R = unknown>(
  redis: Redis,
  moduleUrl: string,
  files: Record<N, string>,
): Record<N, ScriptCommand<R>> {
  const commands = {} as Record<N, ScriptCommand<R>>;
  for (const name of Object.keys(files) as N[]) {
    redis.defineCommand(name, { lua: source(new URL(files[name], moduleUrl)) });
    const command = (redis as unknown as Record<N, ScriptCommand<R>>)[name];
    commands[name] = command.bind(redis);
  }
  return commands;
}
