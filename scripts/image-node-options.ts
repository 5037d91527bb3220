// The Node options the image runs every role with (Dockerfile: ENV NODE_OPTIONS; k8s-tests/image.test.ts checks they
// match), so the benchmarks run the bundle as the image does.
/**
 * `--max-semi-space-size=2` (MiB): V8's young generation otherwise grows to 16 MiB per semi-space while a role loads
 * its code and keeps those pages (~13 MiB of idle RSS per process). Young collections run more often under load;
 * a deployment that prefers throughput to memory sets its own NODE_OPTIONS (the chart's env replaces this one).
 */
export const IMAGE_NODE_OPTIONS = "--max-semi-space-size=2";
