// A frame that gets no answer is acknowledged at once (prompt-ack.ts): a client with Nagle on does not wait 40 ms.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import rhea from "rhea";
import type { Connection } from "rhea";
import { waitFor } from "../../test/support/wait.ts";
import { startEventHubsEmulator } from "./index.ts";
import { EMPTY_FRAME } from "./prompt-ack.ts";
import { Resources, uniqueName } from "./sdk-fixture.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

void test("once open, a frame the emulator has no answer to gets an empty frame back at once (it carries the TCP ACK)", async () => {
  const hub = uniqueName("hub");
  const emulator = await startEventHubsEmulator({ port: 0, hubs: [{ name: hub, partitions: 1 }] });
  resources.add(emulator);
  // A raw AMQP client, as the SDK's rhea connects: Nagle on (rhea turns it off only when it attaches a receiver).
  const connection: Connection = rhea
    .create_container()
    .connect({ host: "127.0.0.1", port: emulator.port, reconnect: false });
  connection.on("connection_error", () => undefined);
  let open = false;
  connection.on("connection_open", () => (open = true));
  await waitFor(() => open, { description: "the AMQP connection open" });
  const { socket } = connection as unknown as { socket: Socket };
  try {
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    // A heartbeat has no answer in AMQP. The server's own heartbeats come every 60 s (idle time-out 120 s): an empty
    // frame within the deadline below is the acknowledgement.
    socket.write(EMPTY_FRAME);
    await waitFor(() => received.some((chunk) => chunk.equals(EMPTY_FRAME)), {
      timeoutMs: 10_000,
      description: "an empty frame back from the emulator",
    });
    assert.equal(connection.is_open(), true, "the client takes the empty frame as a heartbeat");
  } finally {
    connection.close();
    socket.destroy();
  }
});
