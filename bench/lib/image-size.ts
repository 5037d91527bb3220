// The built image's size (`make image`) against the Node base image it takes node from, for the startup report.
import { IMAGE, imageMissingReason, podman } from "../../k8s-tests/support/image.ts";

/** What the Dockerfile's `FROM` names by default (scripts/make-base-image.sh builds it here). */
const BASE_IMAGE = process.env.BASE_IMAGE ?? "docker.io/library/node:24-bookworm-slim";

export interface ImageSizes {
  image: string;
  imageMB: number;
  base: string;
  baseMB: number;
}

async function sizeMB(image: string): Promise<number> {
  const { code, stdout, stderr } = await podman(["image", "inspect", "--format", "{{.Size}}", image]);
  if (code !== 0) throw new Error(`podman image inspect ${image} failed: ${stderr.trim()}`);
  return Math.round(Number(stdout.trim()) / 1e6);
}

/** Undefined when the image has not been built. */
export async function imageSizes(): Promise<ImageSizes | undefined> {
  if ((await imageMissingReason()) !== undefined) return undefined;
  return { image: IMAGE, imageMB: await sizeMB(IMAGE), base: BASE_IMAGE, baseMB: await sizeMB(BASE_IMAGE) };
}
