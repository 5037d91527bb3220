// podman against the private image storage that scripts/build-image.sh builds into (.eventfleet/containers).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./chart.ts";

const run = promisify(execFile);

export const IMAGE = process.env.IMAGE ?? "localhost/eventfleet:latest";
const CONTAINERS_DIR = process.env.EVENTFLEET_CONTAINERS_DIR ?? join(ROOT, ".eventfleet/containers");
const STORE = [
  "--root",
  join(CONTAINERS_DIR, "storage"),
  "--runroot",
  join(CONTAINERS_DIR, "run"),
  "--storage-driver",
  process.env.STORAGE_DRIVER ?? "overlay",
];

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs podman (runc, raised ulimits: see scripts/make-base-image.sh) and returns the exit code instead of throwing. */
export async function podman(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run("podman", [...STORE, ...args], {
      env: { ...process.env, CONTAINERS_CONF: join(CONTAINERS_DIR, "containers.conf") },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw error;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Why the image tests cannot run, or undefined when they can. */
export async function imageMissingReason(): Promise<string | undefined> {
  if (!existsSync(join(CONTAINERS_DIR, "containers.conf"))) {
    return `image ${IMAGE} not built: run 'make image' (builds in a few minutes; CI decides whether to)`;
  }
  try {
    const { code } = await podman(["image", "exists", IMAGE]);
    return code === 0 ? undefined : `image ${IMAGE} not built: run 'make image' (builds in a few minutes)`;
  } catch (error) {
    return `podman unavailable (${(error as Error).message}): run 'make system-deps'`;
  }
}
