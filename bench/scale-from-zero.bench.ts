// KEDA's view of cold start: an order event lands in an empty queue, then a fresh `worker inventory` is spawned (as
// KEDA scales 0 → 1); the figure is send → handled (order INVENTORY_RESERVED), from the sources, from the bundle as
// first shipped (`plain`) and from the image's bundle (as the image runs it), against the same message handled by a
// worker that was already running.
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { bundle } from "../scripts/bundle.ts";
import { IMAGE_NODE_OPTIONS } from "../scripts/image-node-options.ts";
import { placedEvent } from "../test/support/order-event-fixtures.ts";
import { ROOT, RoleRunner } from "../test/support/role-runner.ts";
import { SagaDriver } from "../test/support/saga-stack.ts";
import { createTestEnv } from "../test/support/stack.ts";
import { median } from "./lib/stats.ts";

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
const BUILDS = ["source", "bundle (plain)", "bundle"] as const;
/** As in role-startup.bench.ts. */
type Build = (typeof BUILDS)[number];
const HANDLED_WITHIN_MS = 120_000;

export interface ScaleFromZeroResult {
  name: string;
  runs: number;
  /** Send → handled by a worker already running and ready. */
  warmMs: number;
  /** Send → handled by a worker spawned right after the send, per build. */
  coldMs: Record<Build, number>;
  markdown: string;
}

/** Publishes one order.placed event for a new order and resolves with ms from the publish to INVENTORY_RESERVED. */
async function sendAndTime(
  driver: SagaDriver,
  afterSend: () => Promise<void> = async () => {},
): Promise<number> {
  const sku = `SKU-${randomUUID().slice(0, 8)}`;
  await driver.store.setAvailable(sku, 5);
  const event = placedEvent({ items: [{ sku, quantity: 1, unitPriceCents: 100 }], totalCents: 100 });
  await driver.store.createOrder({ order: event.data, event });
  const sent = performance.now();
  await driver.publish(event);
  await afterSend();
  const deadline = Date.now() + HANDLED_WITHIN_MS;
  while ((await driver.status(event.data.orderId)) !== "INVENTORY_RESERVED") {
    if (Date.now() > deadline)
      throw new Error(`order ${event.data.orderId} not reserved within ${HANDLED_WITHIN_MS} ms`);
    await delay(25);
  }
  return performance.now() - sent;
}

export async function run(progress: (line: string) => void = () => undefined): Promise<ScaleFromZeroResult> {
  // Each measurement gets its own queues: a stopped worker's abandoned long poll would otherwise take the next
  // message out of sight for a visibility timeout (30 s), which is not what a fresh deployment sees.
  const freshEnv = async () => ({ ...(await createTestEnv({ aws: true })), LOG_LEVEL: "warn" });
  const drivers: SagaDriver[] = [];
  const measure = async (
    [entry, buildEnv]: readonly [string, Record<string, string>],
    spawnAfterSend: boolean,
  ): Promise<number> => {
    const env = await freshEnv();
    const driver = new SagaDriver(env);
    drivers.push(driver);
    const runner = new RoleRunner({
      name: "inventory",
      args: ["worker", "inventory"],
      env: { ...env, ...buildEnv },
      entry,
    });
    try {
      if (spawnAfterSend) return await sendAndTime(driver, () => runner.start());
      await runner.start();
      await runner.waitReady(HANDLED_WITHIN_MS);
      return await sendAndTime(driver);
    } finally {
      await runner.stop("SIGTERM", 20_000);
    }
  };
  const bundleDir = join(ROOT, ".eventfleet", `bench-bundle-${randomUUID().slice(0, 8)}`);
  try {
    const { entry: bundleEntry } = await bundle(join(bundleDir, "image"));
    const { entry: plainEntry } = await bundle(join(bundleDir, "plain"), { plain: true });
    const entries: Record<Build, readonly [string, Record<string, string>]> = {
      source: [join(ROOT, "bin/eventfleet.js"), {}],
      "bundle (plain)": [plainEntry, {}],
      bundle: [bundleEntry, { NODE_OPTIONS: IMAGE_NODE_OPTIONS }],
    };
    const warm: number[] = [];
    const cold: Record<Build, number[]> = { source: [], "bundle (plain)": [], bundle: [] };
    for (let i = 0; i < RUNS; i++) {
      // The baseline: the worker is up (KEDA's minReplicaCount ≥ 1), the queue is empty, one message arrives.
      warm.push(await measure(entries.source, false));
      for (const build of BUILDS) cold[build].push(await measure(entries[build], true));
      progress(`scale from zero: run ${i + 1}/${RUNS} done`);
    }
    const result = {
      warmMs: median(warm),
      coldMs: Object.fromEntries(BUILDS.map((b) => [b, median(cold[b])])) as Record<Build, number>,
    };
    const markdown = [
      `### Scale from zero: first message in an empty queue → handled (median of ${RUNS} runs)`,
      "",
      "An order.placed event is published to the orders topic; a fresh `worker inventory` process is spawned " +
        "right after (KEDA scaling 0 → 1, without the scaler's polling interval or pod scheduling); the time is " +
        "publish → order INVENTORY_RESERVED. Baseline: the same with a worker already running. Builds as in the " +
        "start-up table: `bundle (plain)` is the bundle before the start-up work, `bundle` the image's.",
      "",
      "| worker | publish → handled | × baseline |",
      "|---|---:|---:|",
      `| baseline: already running | ${Math.round(result.warmMs)} ms | 1.0× |`,
      ...BUILDS.map(
        (b) =>
          `| freshly spawned (${b}) | ${Math.round(result.coldMs[b])} ms | ${(result.coldMs[b] / result.warmMs).toFixed(1)}× |`,
      ),
    ].join("\n");
    return { name: "scale-from-zero", runs: RUNS, ...result, markdown };
  } finally {
    rmSync(bundleDir, { recursive: true, force: true });
    for (const driver of drivers) await driver.stop();
  }
}

if (import.meta.main) console.log((await run(console.error)).markdown);
