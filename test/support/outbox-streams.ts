// Reading every outbox stream of an environment (one per slot group, shared/redis-keys.ts) in tests: entries, the
// CloudEvents they carry, and the relay group's pending count summed over the streams.
import type { RedisClient } from "../../shared/redis-connection.ts";
import type { RedisKeys } from "../../shared/redis-keys.ts";

export type OutboxStreamEntry = [id: string, fields: string[]];

/** Every entry of every outbox stream (each stream in order; no order between streams). */
export async function outboxEntries(redis: RedisClient, keys: RedisKeys): Promise<OutboxStreamEntry[]> {
  const perStream = await Promise.all(keys.outboxStreams().map((stream) => redis.xrange(stream, "-", "+")));
  return perStream.flat();
}

/** The CloudEvents (parsed JSON) of every outbox entry. */
export async function outboxCloudEvents(
  redis: RedisClient,
  keys: RedisKeys,
): Promise<Record<string, unknown>[]> {
  return (await outboxEntries(redis, keys)).map(
    ([, fields]) => JSON.parse(fields[fields.indexOf("event") + 1]!) as Record<string, unknown>,
  );
}

/** Entries delivered to a relay of `group` and not acknowledged, over every outbox stream. */
export async function outboxPending(redis: RedisClient, keys: RedisKeys, group = "relay"): Promise<number> {
  const counts = await Promise.all(
    keys.outboxStreams().map(async (stream) => {
      const reply = (await redis.xpending(stream, group).catch(() => [0])) as [number, ...unknown[]];
      return Number(reply[0]);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** How many entries the outbox streams hold. */
export async function outboxLength(redis: RedisClient, keys: RedisKeys): Promise<number> {
  const lengths = await Promise.all(keys.outboxStreams().map((stream) => redis.xlen(stream)));
  return lengths.reduce((a, b) => a + b, 0);
}
