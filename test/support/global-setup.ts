// node --test global setup: one emulator stack for the whole run, its endpoints handed to every test process.
import type { Stack } from "../../dev/stack/stack.ts";
import { STACK_ENV_VARIABLE, startTestStack } from "./stack.ts";

let stack: Stack | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env[STACK_ENV_VARIABLE]) return;
  const started = Date.now();
  stack = await startTestStack();
  process.env[STACK_ENV_VARIABLE] = stack.envFile;
  process.stderr.write(`test stack ready in ${Date.now() - started} ms: ${stack.envFile}\n`);
}

export async function globalTeardown(): Promise<void> {
  await stack?.stop();
}
