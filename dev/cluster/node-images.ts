// The images the node runs, without a registry: the pause image (built by scripts/build-node-bins.sh) and the app
// image of `make image`, saved from its private podman storage (.eventfleet/containers) as an archive for containerd.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const APP_IMAGE = "localhost/eventfleet:latest";

/** Where scripts/build-image.sh keeps its images (EVENTFLEET_CONTAINERS_DIR, else <root>/.eventfleet/containers). */
export function containersDir(root: string): string {
  return process.env.EVENTFLEET_CONTAINERS_DIR ?? join(root, ".eventfleet/containers");
}

/**
 * Saves `image` from the `make image` storage to `out` (docker-archive: containerd imports it under its tag).
 * Returns undefined when it is there, else why not (the node then runs without it).
 */
export async function saveAppImage(root: string, image: string, out: string): Promise<string | undefined> {
  const dir = containersDir(root);
  if (!existsSync(join(dir, "storage")))
    return `image ${image} not built (no ${dir}/storage): run 'make image'`;
  const store = [
    "--root",
    join(dir, "storage"),
    "--runroot",
    join(dir, "run"),
    "--storage-driver",
    "overlay",
  ];
  try {
    await run("podman", [...store, "image", "save", "--format", "docker-archive", "-o", out, image], {
      env: { ...process.env, CONTAINERS_CONF: join(dir, "containers.conf") },
      maxBuffer: 16 * 1024 * 1024,
    });
    return undefined;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    return `cannot save image ${image} from ${dir}: ${(e.stderr ?? e.message).trim()} (run 'make image')`;
  }
}
