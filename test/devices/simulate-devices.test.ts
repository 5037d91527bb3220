// `eventfleet simulate devices` into a running worker: Cosmos fills up, and with --invalid-ratio the dead-letter queue.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import type { ComposedDeviceIngest } from "../../workers/device-ingest/compose.ts";
import { ROOT } from "../support/stack.ts";
import { waitFor } from "../support/wait.ts";
import { DeviceTestProbe, deviceTestEnv, startHub, startInProcessWorker } from "../support/device-fixture.ts";

const run = promisify(execFile);

describe("eventfleet simulate devices", () => {
  let emulator: EventHubsEmulator;
  let probe: DeviceTestProbe;
  let worker: ComposedDeviceIngest;
  let env: Record<string, string>;

  before(async () => {
    const hub = await startHub(4);
    emulator = hub.emulator;
    env = await deviceTestEnv(hub.connectionString);
    probe = new DeviceTestProbe(env);
    worker = startInProcessWorker(env).worker;
  });

  after(async () => {
    await worker?.stop();
    await probe?.close();
    await emulator?.close();
  });

  test("fills Cosmos with the valid events and the dead-letter queue with the invalid ones", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, "bin/eventfleet.js"),
        ...[
          "simulate",
          "devices",
          "--devices",
          "20",
          "--rate",
          "2000",
          "--count",
          "600",
          "--invalid-ratio",
          "0.1",
        ],
      ],
      { env: { ...process.env, ...env }, timeout: 120_000 },
    );
    const match = /events (\d+)\/600 .* invalid (\d+) · errors 0/.exec(stdout);
    assert.ok(match, stdout);
    const [sent, invalid] = [Number(match[1]), Number(match[2])];
    assert.equal(sent, 600);
    assert.ok(invalid > 0);
    await probe.waitCheckpointsAtEnd();
    assert.equal((await probe.telemetryIds()).length, sent - invalid);
    await waitFor(async () => (await probe.queueDepth()) === invalid, {
      description: `${invalid} dead letters`,
    });
    const { resources } = await probe.devices.items.query<{ id: string }>("SELECT c.id FROM c").fetchAll();
    assert.equal(resources.length, 20, "one state document per simulated device");
  });
});
