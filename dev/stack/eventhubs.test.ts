// The stack's Event Hubs emulator: verifies the key it hands out, and its endpoint names no port (one namespace).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventHubProducerClient } from "@azure/event-hubs";
import { ROOT } from "../../test/support/stack.ts";
import { errorCode } from "../eventhubs-emulator/sdk-fixture.ts";
import { startEventHubs } from "./emulators.ts";
import type { RunningEmulator } from "./emulators.ts";

let eventhubs: RunningEmulator;
before(async () => {
  eventhubs = await startEventHubs({
    root: ROOT,
    logDir: mkdtempSync(join(tmpdir(), "eventfleet-eventhubs-")),
    standardPorts: false,
  });
});
after(() => eventhubs.process.stop());

test("the handed-out key works and any other key is refused, as in Azure", async () => {
  const connectionString = eventhubs.env.EVENTHUB_CONNECTION_STRING!;
  const right = new EventHubProducerClient(connectionString);
  try {
    assert.deepEqual((await right.getEventHubProperties()).partitionIds, ["0", "1", "2", "3"]);
  } finally {
    await right.close();
  }
  const wrong = new EventHubProducerClient(
    connectionString.replace(/SharedAccessKey=[^;]+/, "SharedAccessKey=d3Jvbmcta2V5"),
    { retryOptions: { maxRetries: 0 } },
  );
  try {
    await assert.rejects(wrong.getEventHubProperties(), (error) => errorCode(error) === "UnauthorizedError");
  } finally {
    await wrong.close();
  }
});

test("the endpoint names no port, so every SDK names the namespace alike", () => {
  assert.match(eventhubs.env.EVENTHUB_CONNECTION_STRING!, /^Endpoint=sb:\/\/127\.\d+\.\d+\.\d+;/);
});
