// The device-event producer examples in Python and Go, run against the local stack's Event Hubs: every event they
// send is a valid device event (docs/schemas/device-event.schema.json) on its device's partition key.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { EventHubConsumerClient, latestEventPosition } from "@azure/event-hubs";
import type { PartitionContext, ReceivedEventData, Subscription } from "@azure/event-hubs";
import { deviceEvent } from "../../shared/events/device-event.ts";
import { getStack } from "../../test/support/stack.ts";
import { waitFor } from "../../test/support/wait.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const HERE = import.meta.dirname;
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const DEVICES = 3;
const EVENTS_PER_DEVICE = 4;

let env: Record<string, string>;
let consumer: EventHubConsumerClient;
let subscription: Subscription;
const received: { event: ReceivedEventData; partitionId: string }[] = [];

before(async () => {
  ({ env } = await getStack());
  assert.ok(env.EVENTHUB_CONNECTION_STRING, "the test stack has no EVENTHUB_CONNECTION_STRING");
  consumer = new EventHubConsumerClient("$Default", env.EVENTHUB_CONNECTION_STRING, env.EVENTHUB_NAME!);
  const partitionIds = await consumer.getPartitionIds();
  const ready = new Set<string>();
  subscription = consumer.subscribe(
    {
      processInitialize: async (context: PartitionContext) => {
        ready.add(context.partitionId);
        await Promise.resolve();
      },
      processEvents: async (events, context) => {
        for (const event of events) received.push({ event, partitionId: context.partitionId });
        await Promise.resolve();
      },
      processError: async () => Promise.resolve(),
    },
    { startPosition: latestEventPosition, maxBatchSize: 100, maxWaitTimeInSeconds: 1 },
  );
  await waitFor(() => ready.size === partitionIds.length, {
    timeoutMs: 60_000,
    description: "a reader on every partition before the examples send",
  });
});
after(async () => {
  await subscription?.close();
  await consumer?.close();
});

/** Runs an example producer; returns the events of its devices as the hub delivered them. */
async function produce(command: string, args: string[], prefix: string) {
  const { stdout } = await run(
    command,
    [...args, "--devices", String(DEVICES), "--events", String(EVENTS_PER_DEVICE), "--device-prefix", prefix],
    {
      env: {
        ...process.env,
        EVENTHUB_CONNECTION_STRING: env.EVENTHUB_CONNECTION_STRING,
        EVENTHUB_NAME: env.EVENTHUB_NAME,
      },
      timeout: 180_000,
    },
  );
  assert.match(stdout, new RegExp(`sent ${DEVICES * EVENTS_PER_DEVICE} events`));
  const mine = () => received.filter((r) => JSON.stringify(r.event.body).includes(`"${prefix}-`));
  return waitFor(() => (mine().length === DEVICES * EVENTS_PER_DEVICE ? mine() : undefined), {
    timeoutMs: 60_000,
    description: `all ${DEVICES * EVENTS_PER_DEVICE} events of ${prefix}`,
  });
}

function assertDeviceEvents(events: { event: ReceivedEventData; partitionId: string }[]) {
  const partitionOf = new Map<string, string>();
  for (const { event, partitionId } of events) {
    const body = deviceEvent.parse(event.body); // the JSON body the schema describes (the SDK parses JSON bodies)
    assert.equal(event.partitionKey, body.deviceId, "partition key = deviceId");
    assert.equal(event.contentType, "application/json");
    // One device, one partition: its events stay in order.
    assert.equal(
      partitionOf.get(body.deviceId) ?? partitionId,
      partitionId,
      `${body.deviceId} on one partition`,
    );
    partitionOf.set(body.deviceId, partitionId);
  }
  assert.equal(partitionOf.size, DEVICES);
}

test("the Python example (azure-eventhub) sends valid device events keyed by deviceId", async () => {
  const { stdout } = await run(
    "bash",
    [join(ROOT, "scripts/python-venv.sh"), join(HERE, "python/requirements.txt")],
    {
      timeout: INSTALL_TIMEOUT_MS,
    },
  );
  assertDeviceEvents(
    await produce(stdout.trim(), [join(HERE, "python/producer.py")], `py-${randomUUID().slice(0, 8)}`),
  );
});

test("the Go example (azeventhubs) sends valid device events keyed by deviceId", async () => {
  const { stdout } = await run(
    "bash",
    [join(ROOT, "scripts/go-build.sh"), join(HERE, "go"), "device-producer-example"],
    {
      timeout: INSTALL_TIMEOUT_MS,
    },
  );
  assertDeviceEvents(await produce(stdout.trim(), [], `go-${randomUUID().slice(0, 8)}`));
});
