// `eventfleet simulate orders` against the API and real workers: it says where the orders ended up and why.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  startApi,
  startWorker,
  stopWorker,
  type ApiProcess,
  type WorkerProcess,
} from "./support/saga-stack.ts";
import { ROOT, createTestEnv } from "./support/stack.ts";

const run = promisify(execFile);

describe("simulate orders: the outcome", () => {
  let api: ApiProcess;
  const workers: WorkerProcess[] = [];
  const simulate = async (...args: string[]) =>
    (
      await run(
        process.execPath,
        [
          join(ROOT, "bin/eventfleet.js"),
          "simulate",
          "orders",
          "--api-url",
          api.url,
          "--outcome-wait",
          "60",
          ...args,
        ],
        { timeout: 120_000 },
      )
    ).stdout;

  before(async () => {
    const env = await createTestEnv({ aws: true });
    api = await startApi(env);
    for (const name of ["inventory", "shipment"] as const) workers.push(await startWorker(name, env));
  });

  after(async () => {
    await Promise.all(workers.map((w) => stopWorker(w)));
    if (api?.child.exitCode === null) {
      api.child.kill("SIGTERM");
      await api.exited;
    }
  });

  test("without stock every order is REJECTED, and the run names the SKUs and --seed-stock", async () => {
    const stdout = await simulate("--count", "6", "--rate", "50");
    assert.match(stdout, /^outcome of the last 6 orders after \d+\.\d s: REJECTED 6$/m);
    assert.match(
      stdout,
      /^REJECTED 6: not enough stock of (SKU-[A-Z]+)(, SKU-[A-Z]+)* \(the inventory worker .*\); add --seed-stock 1000/m,
    );
  });

  test("with --seed-stock the orders are SHIPPED and nothing more is said", async () => {
    const stdout = await simulate("--count", "6", "--rate", "50", "--seed-stock", "100");
    assert.match(stdout, /^outcome of the last 6 orders after \d+\.\d s: SHIPPED 6$/m);
    assert.doesNotMatch(stdout, /REJECTED|still/);
  });
});
