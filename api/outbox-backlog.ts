// How much of the outbox is not yet acknowledged, how old its oldest entry is, and trimming what is done.
import type { RedisClient } from "../shared/redis-connection.ts";

export interface OutboxBacklog {
  /** Entries not yet acknowledged: delivered to a relay but pending, plus never delivered. */
  unacknowledged: number;
  /** The oldest entry not yet acknowledged, or undefined when everything is acknowledged. */
  oldestId: string | undefined;
  /** Age of that entry in seconds (0 when there is none). */
  oldestAgeSeconds: number;
}

/** Stream ids are `<ms>-<seq>`; compares them numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

const minId = (ids: (string | undefined)[]) =>
  ids.filter((id): id is string => id !== undefined).sort(compareStreamIds)[0];

function groupInfo(reply: unknown, group: string): Record<string, unknown> | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (const flat of reply as unknown[][]) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
    if (info.name === group) return info;
  }
  return undefined;
}

/** Reads the backlog of `group` on `stream`; a stream or group that does not exist yet counts from the start. */
export async function readOutboxBacklog(
  redis: RedisClient,
  stream: string,
  group: string,
): Promise<OutboxBacklog> {
  const length = await redis.xlen(stream);
  if (length === 0) return { unacknowledged: 0, oldestId: undefined, oldestAgeSeconds: 0 };
  const info = groupInfo(await redis.xinfo("GROUPS", stream), group);
  let unacknowledged: number;
  let oldestId: string | undefined;
  if (!info) {
    unacknowledged = length;
    oldestId = (await redis.xrange(stream, "-", "+", "COUNT", 1))[0]?.[0];
  } else {
    const lastDelivered = String(info["last-delivered-id"]);
    const [summary, undelivered] = await Promise.all([
      redis.xpending(stream, group) as Promise<[number, string | null, string | null, unknown]>,
      redis.xrange(stream, `(${lastDelivered}`, "+", "COUNT", 1),
    ]);
    const lag = info.lag === null || info.lag === undefined ? undefined : Number(info.lag);
    unacknowledged = Number(summary[0]) + (lag ?? (undelivered.length > 0 ? length : 0));
    oldestId = minId([summary[1] ?? undefined, undelivered[0]?.[0]]);
  }
  const ageMs = oldestId ? Date.now() - Number(oldestId.split("-")[0]) : 0;
  return { unacknowledged, oldestId, oldestAgeSeconds: Math.max(0, ageMs / 1000) };
}

/**
 * Deletes entries every relay has acknowledged: everything older than the oldest unacknowledged entry (or,
 * when all are acknowledged, up to the last delivered one). Returns how many entries were removed.
 */
export async function trimAcknowledged(redis: RedisClient, stream: string, group: string): Promise<number> {
  const info = groupInfo(await redis.xinfo("GROUPS", stream), group);
  if (!info) return 0;
  const backlog = await readOutboxBacklog(redis, stream, group);
  let keepFrom = backlog.oldestId;
  if (!keepFrom) {
    const [ms = "0", seq = "0"] = String(info["last-delivered-id"]).split("-");
    keepFrom = `${ms}-${BigInt(seq) + 1n}`;
  }
  return redis.xtrim(stream, "MINID", keepFrom);
}

/** The backlog over several streams (the slot groups' outboxes): entries summed, the oldest of all. */
export async function readOutboxBacklogs(
  redis: RedisClient,
  streams: readonly string[],
  group: string,
): Promise<OutboxBacklog> {
  const backlogs = await Promise.all(streams.map((stream) => readOutboxBacklog(redis, stream, group)));
  const oldest = backlogs
    .filter((b) => b.oldestId !== undefined)
    .sort((a, b) => compareStreamIds(a.oldestId!, b.oldestId!))[0];
  return {
    unacknowledged: backlogs.reduce((sum, b) => sum + b.unacknowledged, 0),
    oldestId: oldest?.oldestId,
    oldestAgeSeconds: oldest?.oldestAgeSeconds ?? 0,
  };
}
