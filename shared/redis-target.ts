// Where eventfleet's Redis is: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES + REDIS_URL's
// credentials and TLS), decided once from the configuration; contradictions are a ConfigError naming both variables.
import { ConfigError, type ConfigOf, type redisEnv } from "./config.ts";

export interface RedisNode {
  host: string;
  port: number;
}

/** What every node of a cluster shares, taken from REDIS_URL: credentials and TLS. */
export interface RedisAuth {
  username?: string;
  password?: string;
  /** `rediss://`: TLS to every node. */
  tls: boolean;
}

export type RedisTarget =
  | { mode: "single"; url: string; slotGroups: number }
  | { mode: "cluster"; nodes: RedisNode[]; auth: RedisAuth; slotGroups: number };

export type RedisConfig = Pick<
  ConfigOf<typeof redisEnv>,
  "REDIS_URL" | "REDIS_SLOT_GROUPS" | "REDIS_CLUSTER_NODES"
>;

/** REDIS_URL's default: in cluster mode it is "unset", so its host need not be a seed. */
const DEFAULT_URL_HOST = "127.0.0.1:6379";

function parseNode(text: string): RedisNode {
  const at = text.lastIndexOf(":");
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

export function resolveRedisTarget(config: RedisConfig): RedisTarget {
  const slotGroups = config.REDIS_SLOT_GROUPS;
  if (!config.REDIS_CLUSTER_NODES || config.REDIS_CLUSTER_NODES.length === 0) {
    return { mode: "single", url: config.REDIS_URL, slotGroups };
  }
  const nodes = config.REDIS_CLUSTER_NODES.map(parseNode);
  const bad = nodes.find((node) => !(node.port >= 1 && node.port <= 65535));
  if (bad) {
    throw new ConfigError(
      "REDIS_CLUSTER_NODES",
      `REDIS_CLUSTER_NODES: got port ${bad.port} for ${bad.host}, expected a port 1-65535 (host:port,host:port)`,
    );
  }
  const url = new URL(config.REDIS_URL);
  const database = url.pathname.replace(/^\//, "");
  if (database !== "" && database !== "0") {
    throw new ConfigError(
      "REDIS_URL",
      `REDIS_URL selects database ${database} but REDIS_CLUSTER_NODES selects Redis Cluster, which has only ` +
        "database 0: drop the /<db> from REDIS_URL (in cluster mode it carries only credentials and TLS)",
    );
  }
  const urlHost = `${url.hostname.replace(/^\[|\]$/g, "")}:${url.port || "6379"}`;
  const seeds = nodes.map((node) => `${node.host}:${node.port}`);
  if (urlHost !== DEFAULT_URL_HOST && !seeds.includes(urlHost)) {
    throw new ConfigError(
      "REDIS_URL",
      `REDIS_URL names ${urlHost}, which is not one of REDIS_CLUSTER_NODES (${seeds.join(",")}): in cluster mode ` +
        "REDIS_URL carries only credentials and TLS; point it at one of the seeds (or at none: redis://user:pass@" +
        `${seeds[0]}) or unset REDIS_CLUSTER_NODES to use the single Redis at REDIS_URL`,
    );
  }
  return {
    mode: "cluster",
    nodes,
    auth: {
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      tls: url.protocol === "rediss:",
    },
    slotGroups,
  };
}

/** Where the target is, for logs and readiness (never credentials). */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.mode === "cluster")
    return `Redis Cluster (seeds ${target.nodes.map((n) => `${n.host}:${n.port}`).join(",")})`;
  const url = new URL(target.url);
  return `Redis at ${url.hostname}:${url.port || "6379"}`;
}
