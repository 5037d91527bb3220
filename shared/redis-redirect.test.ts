// parseRedirect: which Redis Cluster error replies are redirections and where they send a command. Following them on
// a real cluster (MOVED, ASK, TRYAGAIN): test/redis-cluster/write-ack.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRedirect } from "./redis-redirect.ts";

/** An error reply as ioredis rejects with it (a ReplyError, an Error whose message is the reply). */
const reply = (message: string) => new Error(message);

test("MOVED and ASK name the slot and the node to go to", () => {
  assert.deepEqual(parseRedirect(reply("MOVED 3999 127.0.0.1:6381")), {
    kind: "moved",
    slot: 3999,
    node: "127.0.0.1:6381",
  });
  assert.deepEqual(parseRedirect(reply("ASK 16383 redis-2.example.internal:6379")), {
    kind: "ask",
    slot: 16383,
    node: "redis-2.example.internal:6379",
  });
});

test("TRYAGAIN and CLUSTERDOWN mean: send it again later", () => {
  assert.deepEqual(parseRedirect(reply("TRYAGAIN Multiple keys request during rehashing of slot")), {
    kind: "later",
    reason: "TRYAGAIN",
  });
  assert.deepEqual(parseRedirect(reply("CLUSTERDOWN The cluster is down")), {
    kind: "later",
    reason: "CLUSTERDOWN",
  });
});

test("other errors, a slot out of range and a node without a host are no redirection to follow", () => {
  for (const message of [
    "NOSCRIPT No matching script",
    "ERR wrong number of arguments",
    "MOVED 16384 127.0.0.1:6381",
    "MOVED 3999 :6381",
    "MOVED __proto__ 127.0.0.1:6381",
  ])
    assert.equal(parseRedirect(reply(message)), undefined, message);
  assert.equal(parseRedirect(reply("Connection is closed.")), undefined);
});
