// device-ingest readiness against slow and unreachable dependencies: a slow Cosmos must not keep it out of service,
// and a replica that cannot reach Event Hubs (AMQP blocked) must not claim to be ready.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EventHubsEmulator } from "../../dev/eventhubs-emulator/index.ts";
import { TcpFaultProxy } from "../support/tcp-fault-proxy.ts";
import { waitFor } from "../support/wait.ts";
import { Replica, deviceTestEnv, startHub } from "../support/device-fixture.ts";

/** /readyz within the kubelet's 2 s probe timeout: status and body, or "timeout". */
async function probe(replica: Replica): Promise<{ status: number | "timeout"; body: string }> {
  try {
    const response = await fetch(`${replica.managementUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: "timeout", body: "" };
  }
}

describe("device-ingest readiness", () => {
  let emulator: EventHubsEmulator;
  let env: Record<string, string>;
  const replicas: Replica[] = [];
  const proxies: TcpFaultProxy[] = [];

  before(async () => {
    const hub = await startHub(2);
    emulator = hub.emulator;
    env = await deviceTestEnv(hub.connectionString);
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.terminate()));
    for (const proxy of proxies) await proxy.close();
    await emulator.close();
  });

  test("with Cosmos answering in about 2 s the replica still becomes ready (probes answer from the last check)", async () => {
    const slow = new TcpFaultProxy(Number(new URL(env.COSMOS_ENDPOINT!).port), { oneWayDelayMs: 1000 });
    proxies.push(slow);
    await slow.up();
    const replica = await Replica.start({ ...env, COSMOS_ENDPOINT: `https://127.0.0.1:${slow.port}/` });
    replicas.push(replica);
    await waitFor(async () => (await probe(replica)).status === 200, {
      timeoutMs: 90_000,
      intervalMs: 1000,
      description: `ready with a slow Cosmos: ${replica.describe()}`,
    });
  });

  test("a replica that cannot reach Event Hubs is not ready and says so, and becomes ready once it can", async () => {
    const port = Number(/sb:\/\/[^:;/]+:(\d+)/.exec(env.EVENTHUB_CONNECTION_STRING!)![1]);
    const amqp = new TcpFaultProxy(port);
    proxies.push(amqp);
    await amqp.up();
    await amqp.down(); // as a NetworkPolicy rejecting AMQP would
    const replica = await Replica.start({
      ...env,
      EVENTHUB_CONNECTION_STRING: env.EVENTHUB_CONNECTION_STRING!.replace(`:${port}`, `:${amqp.port}`),
    });
    replicas.push(replica);
    let last = { status: 0 as number | "timeout", body: "" };
    await waitFor(
      async () => {
        last = await probe(replica);
        return last.body.includes("partition count");
      },
      { timeoutMs: 60_000, intervalMs: 500, description: "readiness naming the unreachable hub" },
    );
    assert.equal(last.status, 503);
    await amqp.up();
    await waitFor(async () => (await probe(replica)).status === 200, {
      timeoutMs: 90_000,
      intervalMs: 1000,
      description: `ready once Event Hubs is reachable: ${replica.describe()}`,
    });
  });
});
