// Against a real redis-server: the start-up check names missing persistence, eviction and replicas, and degrades to
// a reminder where CONFIG is not permitted (as on managed Redis).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { startLocalRedis, type LocalRedis } from "../test/support/local-redis.ts";
import { readRedisSettings } from "./redis-settings.ts";

let server: LocalRedis;
let admin: Redis;
before(async () => {
  server = await startLocalRedis();
  admin = new Redis(server.url);
});
after(async () => {
  admin.disconnect();
  await server.stop();
});

test("a Redis without persistence, with an evicting policy and no replica is named on all three counts", async () => {
  await admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
  const report = await readRedisSettings(admin);
  assert.equal(report.problems.length, 3, report.problems.join("\n"));
  assert.match(report.problems.join("\n"), /appendonly yes[\s\S]*noeviction[\s\S]*replica/);
});

test("with persistence and noeviction only the missing replica remains", async () => {
  // Snapshot points count as persistence (AOF would write its files into this server's working directory).
  await admin.call("CONFIG", "SET", "save", "900 1");
  await admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction");
  const report = await readRedisSettings(admin);
  assert.deepEqual(report.problems.length, 1);
  assert.match(report.problems[0]!, /no replica/);
});

test("a user not allowed CONFIG (managed Redis) gets the settings reported as unknown, not an error", async () => {
  await admin.call("ACL", "SETUSER", "app", "on", ">secret", "~*", "+@all", "-config");
  const limited = new Redis(`redis://app:secret@127.0.0.1:${server.port}`);
  try {
    const report = await readRedisSettings(limited);
    assert.equal(report.unknown.length, 1);
    assert.match(report.unknown[0]!, /CONFIG GET refused/);
  } finally {
    limited.disconnect();
  }
});
