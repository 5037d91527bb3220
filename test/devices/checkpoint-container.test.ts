// EVENTHUB_CHECKPOINT_CONTAINER: `infra apply` creates that container, the worker writes its checkpoints (and
// ownership) there and not in `<env>-checkpoints`, so KEDA, given the same container by the chart, reads real lag.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import { createStorageClients } from "../../shared/azure-clients.ts";
import { parseEnv } from "../../shared/config.ts";
import { applyInfra, infraEnv } from "../../shared/topology/infra-apply.ts";
import {
  CONSUMER_GROUP,
  DeviceTestProbe,
  HUB,
  deviceTestEnv,
  startHub,
  startInProcessWorker,
  validEvents,
} from "../support/device-fixture.ts";
import { waitFor } from "../support/wait.ts";

describe("EVENTHUB_CHECKPOINT_CONTAINER", () => {
  let emulator: EventHubsEmulator;
  let env: Record<string, string>;

  before(async () => {
    const hub = await startHub(2);
    emulator = hub.emulator;
    env = await deviceTestEnv(hub.connectionString);
  });
  after(() => emulator.close());

  test("infra apply creates it and the worker checkpoints there, not in <env>-checkpoints", async () => {
    const custom = `${env.EVENTFLEET_ENV}-ingest-cp`;
    const withCustom = { ...env, EVENTHUB_CHECKPOINT_CONTAINER: custom };
    const created: string[] = [];
    await applyInfra(parseEnv(infraEnv, withCustom), {
      aws: false,
      azure: true,
      report: (r) => {
        if (r.kind === "blob container" && r.action === "created") created.push(r.name);
      },
    });
    assert.ok(created.includes(custom), `infra apply created ${custom} (created: ${created.join(", ")})`);

    const probe = new DeviceTestProbe(env);
    const { worker } = startInProcessWorker(withCustom);
    try {
      await probe.send(validEvents("cp", 40, 8));
      const last = await probe.lastSequenceNumbers();
      const blob = createStorageClients({ STORAGE_CONNECTION_STRING: env.STORAGE_CONNECTION_STRING }).blob;
      const store = new BlobCheckpointStore(blob.getContainerClient(custom));
      await waitFor(
        async () => {
          const checkpoints = await store.listCheckpoints(
            probe.producer.fullyQualifiedNamespace,
            HUB,
            CONSUMER_GROUP,
          );
          const at = Object.fromEntries(checkpoints.map((c) => [c.partitionId, c.sequenceNumber]));
          return Object.entries(last).every(([p, n]) => at[p] === n);
        },
        {
          timeoutMs: 60_000,
          intervalMs: 250,
          description: `checkpoints in ${custom} at ${JSON.stringify(last)}`,
        },
      );
      assert.deepEqual(await probe.checkpoints(), [], `nothing in ${env.EVENTFLEET_ENV}-checkpoints`);
    } finally {
      await worker.stop();
      await probe.close();
    }
  });
});
