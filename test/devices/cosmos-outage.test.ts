// Cosmos DB goes away mid-stream and comes back: the partition waits (no checkpoint moves), then catches up by itself.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import { createCosmosClient } from "../../shared/azure-clients.ts";
import type { ComposedDeviceIngest } from "../../workers/device-ingest/compose.ts";
import { ROOT } from "../support/stack.ts";
import { waitFor } from "../support/wait.ts";
import {
  DeviceTestProbe,
  deviceTestEnv,
  startHub,
  startInProcessWorker,
  validEvents,
} from "../support/device-fixture.ts";

/** Our own Cosmos emulator process (`dev/stack/emulator-main.ts cosmos <port>`), so the test can stop and restart it. */
async function startCosmos(port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(ROOT, "dev/stack/emulator-main.ts"), "cosmos", String(port)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as { port: number });
    });
    child.once("exit", (code) => reject(new Error(`cosmos emulator exited (${code}) before it was ready`)));
  });
  return { child, port: ready.port };
}

async function stopCosmos(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

describe("device-ingest: Cosmos DB outage", () => {
  let emulator: EventHubsEmulator;
  let probe: DeviceTestProbe;
  let worker: ComposedDeviceIngest;
  let cosmos: { child: ChildProcess; port: number };
  let env: Record<string, string>;
  const logs: { msg: string; attempt?: number }[] = [];

  const provision = async () => {
    const client = createCosmosClient({ COSMOS_ENDPOINT: env.COSMOS_ENDPOINT!, COSMOS_KEY: env.COSMOS_KEY });
    const { database } = await client.databases.createIfNotExists({ id: env.COSMOS_DATABASE! });
    for (const id of ["telemetry", "devices"]) {
      await database.containers.createIfNotExists({ id, partitionKey: { paths: ["/deviceId"] } });
    }
    client.dispose();
  };

  before(async () => {
    const hub = await startHub(2);
    emulator = hub.emulator;
    cosmos = await startCosmos(0);
    env = {
      ...(await deviceTestEnv(hub.connectionString)),
      COSMOS_ENDPOINT: `https://127.0.0.1:${cosmos.port}/`,
    };
    await provision();
    probe = new DeviceTestProbe(env);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) {
          logs.push(JSON.parse(line) as { msg: string; attempt?: number });
        }
        done();
      },
    });
    worker = startInProcessWorker(
      env,
      { retryBaseMs: 100, retryMaxMs: 500 },
      pino({ level: "info" }, sink),
    ).worker;
  });

  after(async () => {
    await worker?.stop();
    await probe?.close();
    await emulator?.close();
    if (cosmos) await stopCosmos(cosmos.child);
  });

  test("no checkpoint advances while Cosmos is down; afterwards every event is stored", async () => {
    const first = validEvents("up", 40, 6);
    await probe.send(first);
    await waitFor(async () => (await probe.telemetryIds()).length === first.length, {
      timeoutMs: 60_000,
      description: "the first events stored",
    });
    await probe.waitCheckpointsAtEnd();
    const before = await probe.checkpointedSequences();

    await stopCosmos(cosmos.child);
    const during = validEvents("down", 100, 6);
    await probe.send(during);
    // The worker has received them and keeps failing to write them: several retries logged.
    await waitFor(
      () =>
        logs.filter((l) => l.msg.startsWith("telemetry upsert failed") && (l.attempt ?? 0) >= 4).length > 0,
      {
        timeoutMs: 60_000,
        description: "the worker retrying its writes",
      },
    );
    assert.deepEqual(
      await probe.checkpointedSequences(),
      before,
      "no checkpoint moved while Cosmos was down",
    );
    assert.equal(await probe.queueDepth(), 0, "an outage is not a reason to dead-letter");

    // Back on the same port. The emulator keeps data in memory only, so it comes back empty: provision again
    // (a real account keeps its data; the first events would still be there).
    cosmos = await startCosmos(cosmos.port);
    await provision();
    await waitFor(
      async () => {
        const ids = new Set(await probe.telemetryIds());
        return during.every((e) => ids.has(e.id));
      },
      { timeoutMs: 90_000, intervalMs: 300, description: "every event sent during the outage stored" },
    );
    await probe.waitCheckpointsAtEnd();
    const afterwards = await probe.checkpointedSequences();
    for (const [partition, sequence] of Object.entries(before)) {
      assert.ok(afterwards[partition]! >= sequence, `partition ${partition} checkpoint moved on`);
    }
  });
});
