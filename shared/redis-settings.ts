// Checks at start that Redis runs the way eventfleet requires (README "Redis settings eventfleet requires"): with
// persistence, without eviction, with a replica. Orders and the outbox live only in Redis, so a Redis that loses
// or evicts data loses accepted orders. Managed Redis often disables CONFIG: then we can only remind. On a Redis
// Cluster every master is checked (each holds part of the orders), its problems prefixed with its address.
import { Cluster, type Redis } from "ioredis";
import { errorMessage } from "./errors.ts";
import type { Logger } from "./logger.ts";

export interface RedisSettingsReport {
  /** What is wrong, each with the fix; empty when everything checked is fine. */
  problems: string[];
  /** Settings that could not be read (CONFIG disabled or not permitted). */
  unknown: string[];
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  const reply = (await redis.call("CONFIG", "GET", name)) as string[];
  return reply[1];
}

export async function readRedisSettings(redis: Redis | Cluster): Promise<RedisSettingsReport> {
  if (!(redis instanceof Cluster)) return readNodeSettings(redis);
  const reports = await Promise.all(
    redis.nodes("master").map(async (node) => {
      const where = `${node.options.host}:${node.options.port}`;
      const report = await readNodeSettings(node);
      return {
        problems: report.problems.map((p) => `${where}: ${p}`),
        unknown: report.unknown.map((u) => `${where}: ${u}`),
      };
    }),
  );
  return { problems: reports.flatMap((r) => r.problems), unknown: reports.flatMap((r) => r.unknown) };
}

async function readNodeSettings(redis: Redis): Promise<RedisSettingsReport> {
  const problems: string[] = [];
  const unknown: string[] = [];
  try {
    const [appendonly, save, policy] = await Promise.all([
      configGet(redis, "appendonly"),
      configGet(redis, "save"),
      configGet(redis, "maxmemory-policy"),
    ]);
    if (appendonly !== "yes" && !save)
      problems.push(
        "no persistence (appendonly no, no save points): a restart loses every order and the outbox; set appendonly yes",
      );
    if (policy !== undefined && policy !== "noeviction")
      problems.push(
        `maxmemory-policy is ${policy}: Redis may evict orders, outbox entries or reservations under memory pressure; set noeviction`,
      );
  } catch (error) {
    unknown.push(`persistence and maxmemory-policy (CONFIG GET refused: ${errorMessage(error)})`);
  }
  try {
    const info = String(await redis.info("replication"));
    const role = /role:(\w+)/.exec(info)?.[1];
    const replicas = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
    if (role === "master" && replicas === 0)
      problems.push("no replica connected: losing this node loses the data; run at least one replica");
  } catch (error) {
    unknown.push(`replicas (INFO refused: ${errorMessage(error)})`);
  }
  return { problems, unknown };
}

/**
 * Logs what is wrong (one warning naming each problem and its fix) or what could not be checked. Never throws and
 * never stops the role: a local or test Redis runs without a replica, and managed Redis hides its settings.
 */
export async function warnAboutRedisSettings(
  redis: Redis | Cluster,
  logger: Logger,
): Promise<RedisSettingsReport> {
  let report: RedisSettingsReport;
  try {
    report = await readRedisSettings(redis);
  } catch (error) {
    report = { problems: [], unknown: [`all settings (${errorMessage(error)})`] };
  }
  if (report.problems.length > 0)
    logger.warn(
      { problems: report.problems },
      `Redis is not run as eventfleet requires: ${report.problems.join("; ")} (README: Redis settings eventfleet requires)`,
    );
  if (report.unknown.length > 0)
    logger.warn(
      { unknown: report.unknown },
      "could not check the Redis settings (managed Redis may disable CONFIG): make sure it has persistence, a replica and maxmemory-policy noeviction",
    );
  return report;
}
