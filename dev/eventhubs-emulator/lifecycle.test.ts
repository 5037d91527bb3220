// Start and stop: quick to start, and close() returns promptly even with clients still connected.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import rhea from "rhea";
import { waitFor } from "../../test/support/wait.ts";
import { startEventHubsEmulator } from "./index.ts";
import { Resources, uniqueName } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

void test("close() disconnects connected clients instead of waiting for them, and frees the port", async (t) => {
  const hub = uniqueName("hub");
  const started = performance.now();
  const emulator = await startEventHubsEmulator({ port: 0, hubs: [{ name: hub, partitions: 2 }] });
  t.diagnostic(`started in ${Math.round(performance.now() - started)} ms`);
  resources.add(emulator);

  // Raw AMQP clients (no reconnect): the SDK would keep retrying a server that is gone on purpose.
  const clients = Array.from({ length: 3 }, () => {
    const connection = rhea
      .create_container()
      .connect({ host: "127.0.0.1", port: emulator.port, reconnect: false });
    const state = { receiving: false, disconnected: false };
    connection.open_receiver({ source: { address: `${hub}/ConsumerGroups/$Default/Partitions/0` } });
    connection.on("receiver_open", () => (state.receiving = true));
    connection.on("disconnected", () => (state.disconnected = true));
    connection.on("connection_error", () => undefined);
    return state;
  });
  await waitFor(() => clients.every((c) => c.receiving), { description: "3 receivers attached" });

  const closing = performance.now();
  await emulator.close();
  t.diagnostic(`closed in ${Math.round(performance.now() - closing)} ms with 3 clients connected`);
  await waitFor(() => clients.every((c) => c.disconnected), { description: "every client disconnected" });
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = connect(emulator.port, "127.0.0.1", () => resolve(socket.destroy()));
      socket.once("error", reject);
    }),
    /ECONNREFUSED/,
  );
});
