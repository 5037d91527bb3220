// Configuration from environment variables: declared once per variable, parsed with zod, fatal when wrong.
import { z } from "zod";
import { DEFAULT_SLOT_GROUPS } from "./redis-keys.ts";

/** One environment variable: how it is parsed, what it means, and what a wrong value should be told. */
export interface EnvVar<T> {
  readonly schema: z.ZodType<T>;
  /** What a valid value looks like, said to the operator when the value is wrong or missing. */
  readonly expects: string;
  readonly description: string;
  /** The value used when the variable is unset (documented in the README table). */
  readonly default?: string;
  /** A secret's value is never echoed in an error or a log. */
  readonly secret?: boolean;
}

export type EnvSpec = Record<string, EnvVar<unknown>>;
export type ConfigOf<S extends EnvSpec> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

export function envVar<T>(schema: z.ZodType<T>, meta: Omit<EnvVar<T>, "schema">): EnvVar<T> {
  return { schema, ...meta };
}

/** A configuration value is missing or wrong; the message is one line naming the variable, the value and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.variable = variable;
  }
}

function shown(value: string | undefined, secret: boolean | undefined): string {
  if (value === undefined) return "nothing (unset)";
  if (secret) return "a value (hidden: secret)";
  const text = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(text);
}

/**
 * Parses every variable of `spec` from `env`. Empty strings count as unset, so `FOO=` falls back to the default.
 * Throws one ConfigError naming every variable that is missing or invalid (one line each, all at once: an operator
 * fixes them in one go, not one per start); its `variable` is the first of them.
 */
export function parseEnv<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: [string, string][] = [];
  for (const [name, variable] of Object.entries(spec)) {
    const raw = env[name] === "" ? undefined : env[name];
    const value = raw ?? variable.default;
    const result = variable.schema.safeParse(value);
    if (!result.success) {
      problems.push([
        name,
        `${name}: got ${shown(raw, variable.secret)}, expected ${variable.expects}` +
          (raw === undefined ? ` (set ${name})` : ""),
      ]);
      continue;
    }
    out[name] = result.data;
  }
  if (problems.length > 0)
    throw new ConfigError(problems[0]![0], problems.map(([, line]) => line).join("\n"));
  return out as ConfigOf<S>;
}

// ---- Value types shared by several roles -------------------------------------------------------------

const urlWithProtocols = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  });

export const schemas = {
  url: (protocols = ["http:", "https:"]) => urlWithProtocols(protocols),
  port: z.coerce.number().int().min(0).max(65535),
  positiveInt: z.coerce.number().int().positive(),
  nonNegativeInt: z.coerce.number().int().min(0),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/),
  boolean: z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
};

/** Every long-running process: logging, management port, shutdown budget, environment prefix. */
export const processEnv = {
  LOG_LEVEL: envVar(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), {
    expects: "one of fatal, error, warn, info, debug, trace, silent",
    description: "Log level (JSON logs to stdout; pretty when stdout is a terminal).",
    default: "info",
  }),
  MANAGEMENT_PORT: envVar(schemas.port, {
    expects: "a port number 0-65535 (0 picks a free port)",
    description: "Port of the management server: /metrics, /healthz, /readyz.",
    default: "9464",
  }),
  SHUTDOWN_TIMEOUT_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds",
    description: "Budget to finish or release in-flight work after SIGTERM/SIGINT before exiting.",
    default: "25000",
  }),
  EVENTFLEET_ENV: envVar(schemas.name, {
    expects: "a lowercase name of letters, digits and dashes (at most 41 characters), such as dev or prod",
    description: "Environment prefix of every resource name (`<env>-inventory`, `<env>-orders`, …).",
    default: "dev",
  }),
} satisfies EnvSpec;

/**
 * Redis, single or Cluster (shared/redis-target.ts turns these into a connection target; one code path for both):
 * - single Redis: REDIS_URL only, as always.
 * - Redis Cluster: REDIS_CLUSTER_NODES lists seed nodes (`host:port,host:port`); REDIS_URL then carries only what
 *   every node shares: credentials (`redis://user:password@...`) and TLS (`rediss://`). Its host:port, when set,
 *   must be one of the seeds (e.g. ElastiCache's configuration endpoint in both), and it may not select a database
 *   other than 0 (a cluster has only database 0): either contradiction is a ConfigError naming both variables.
 * - REDIS_SLOT_GROUPS: orders are spread over this many slot groups; each group's orders and its outbox stream share
 *   one hash slot, so an order and its outbox entry are written in one script on a cluster too (README: Redis
 *   Cluster). The same number for every role and for the life of the data: changing it moves orders.
 */
export const redisEnv = {
  REDIS_URL: envVar(urlWithProtocols(["redis:", "rediss:"]), {
    expects: "a redis:// or rediss:// URL, such as redis://127.0.0.1:6379",
    description:
      "Redis holding orders, the outbox streams, stock, idempotency keys and processed markers. With REDIS_CLUSTER_NODES: only its credentials (user:password@) and TLS (rediss://) are used, for every node.",
    default: "redis://127.0.0.1:6379",
  }),
  REDIS_CLUSTER_NODES: envVar(
    z
      .string()
      .regex(/^\s*[^\s,:/@]+:\d{1,5}\s*(,\s*[^\s,:/@]+:\d{1,5}\s*)*$/)
      .transform((value) => value.split(",").map((node) => node.trim()))
      .optional(),
    {
      expects:
        "a comma-separated list of Redis Cluster seed nodes as host:port, such as redis-0:6379,redis-1:6379",
      description:
        "Selects Redis Cluster mode (ioredis Cluster): seed nodes the client discovers the cluster from. Unset: a single Redis at REDIS_URL.",
    },
  ),
  REDIS_SLOT_GROUPS: envVar(z.coerce.number().int().min(1).max(1024), {
    expects: "an integer 1-1024, the same for every role",
    description:
      "Slot groups orders are spread over, each with its own outbox stream and relay consumer; at least a few per cluster master. Fixed for the life of the data.",
    default: String(DEFAULT_SLOT_GROUPS),
  }),
} satisfies EnvSpec;

/**
 * Replica acknowledgement of the API's accepting writes (shared/redis-write-ack.ts; README: Redis write
 * acknowledgement). Redis replicates asynchronously: an order acknowledged by a master that dies before its replica
 * has it is lost although the client was told 202. With REDIS_WRITE_REPLICAS > 0 the API sends WAIT to that master
 * right after the write and answers 503 (maybe accepted: retry with the same Idempotency-Key) when fewer replicas
 * confirm within REDIS_WRITE_TIMEOUT_MS. The defaults, each with why:
 */
export const REDIS_WRITE_DEFAULTS = {
  /** A Redis Cluster fails over to a replica by design, so an unreplicated write is the expected way to lose one. */
  clusterReplicas: 1,
  /** A single Redis often has no replica (local, tests); waiting for one would refuse every order. */
  singleReplicas: 0,
  /** A replica on the same network confirms in about a millisecond; 500 ms rides out a slow one, not a dead one. */
  timeoutMs: 500,
} as const;

export const redisWriteEnv = {
  REDIS_WRITE_REPLICAS: envVar(z.coerce.number().int().min(0).max(16).optional(), {
    expects: "a number of replicas 0-16 (0: answer without waiting for any replica)",
    description: `Replicas that must have an accepted order (or cancel) before the API answers 2xx (Redis WAIT on the master that took the write); fewer within REDIS_WRITE_TIMEOUT_MS: 503 with Retry-After, the write maybe kept, retry with the same Idempotency-Key. Unset: ${REDIS_WRITE_DEFAULTS.clusterReplicas} with REDIS_CLUSTER_NODES, ${REDIS_WRITE_DEFAULTS.singleReplicas} on a single Redis.`,
  }),
  REDIS_WRITE_TIMEOUT_MS: envVar(schemas.positiveInt, {
    expects: "a positive integer number of milliseconds, below the API's Redis command timeout (2000)",
    description:
      "How long the API waits for REDIS_WRITE_REPLICAS replicas to confirm a write before answering 503; the master's connection is held meanwhile.",
    default: String(REDIS_WRITE_DEFAULTS.timeoutMs),
  }),
} satisfies EnvSpec;

export const awsEnv = {
  AWS_REGION: envVar(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/), {
    expects: "an AWS region such as eu-west-1",
    description: "AWS region of the SNS topic and SQS queues.",
    default: "us-east-1",
  }),
  AWS_ENDPOINT_URL: envVar(urlWithProtocols(["http:", "https:"]).optional(), {
    expects: "an http(s) URL such as http://127.0.0.1:4566 (local emulators only; leave unset for AWS)",
    description: "SNS/SQS endpoint override for local emulators; passed to every AWS client explicitly.",
  }),
} satisfies EnvSpec;

/** SQS queue URLs: a worker's own queue and DLQ, all of them for the dlq tool. */
export const queueUrlVar = (what: string) =>
  envVar(urlWithProtocols(["http:", "https:"]), {
    expects: "an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)",
    description: `URL of the ${what}.`,
  });

const optionalUrl = (protocols: string[], expects: string, description: string) =>
  envVar(urlWithProtocols(protocols).optional(), { expects, description });

export const storageEnv = {
  STORAGE_CONNECTION_STRING: envVar(z.string().includes("AccountName=").optional(), {
    expects: "an Azure Storage connection string (DefaultEndpointsProtocol=...;AccountName=...;...)",
    description: "Storage account for checkpoints and dead letters (local); or use STORAGE_ACCOUNT_URL.",
    secret: true,
  }),
  STORAGE_ACCOUNT_URL: optionalUrl(
    ["https:", "http:"],
    "a blob endpoint URL such as https://<account>.blob.core.windows.net",
    "Storage account blob URL, used with workload identity instead of a connection string.",
  ),
} satisfies EnvSpec;

export const cosmosEnv = {
  COSMOS_ENDPOINT: optionalUrl(
    ["https:", "http:"],
    "a Cosmos DB endpoint such as https://<account>.documents.azure.com:443/",
    "Cosmos DB account endpoint.",
  ),
  COSMOS_KEY: envVar(z.string().min(1).optional(), {
    expects: "a Cosmos DB account key (local); leave unset for workload identity",
    description: "Cosmos DB key (local emulator); unset in AKS, where workload identity is used.",
    secret: true,
  }),
  COSMOS_EMULATOR: envVar(schemas.boolean.optional(), {
    expects: "true or false",
    description:
      "The endpoint is the local Cosmos emulator (its self-signed certificate accepted, no region discovery). " +
      "Unset: true for a loopback endpoint; set it for an emulator reached on another address (pods of the local cluster).",
  }),
  COSMOS_DATABASE: envVar(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/)
      .optional(),
    {
      expects: "a Cosmos database id (letters, digits, '-', '_')",
      description: "Cosmos database; defaults to `<EVENTFLEET_ENV>-eventfleet`.",
    },
  ),
} satisfies EnvSpec;

export const eventHubEnv = {
  EVENTHUB_CONNECTION_STRING: envVar(z.string().includes("Endpoint=sb://").optional(), {
    expects:
      "an Event Hubs connection string (Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...)",
    description: "Event Hubs namespace connection string (local); or use EVENTHUB_NAMESPACE.",
    secret: true,
  }),
  EVENTHUB_NAMESPACE: envVar(
    z
      .string()
      .regex(/^[a-z0-9.-]+$/)
      .optional(),
    {
      expects: "a fully qualified namespace such as <ns>.servicebus.windows.net (lowercase)",
      description: "Event Hubs namespace, used with workload identity instead of a connection string.",
    },
  ),
  EVENTHUB_NAME: envVar(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,255}$/), {
    expects: "a lowercase Event Hub name",
    description: "The Event Hub devices send telemetry to.",
    default: "telemetry",
  }),
  EVENTHUB_CONSUMER_GROUP: envVar(z.string().min(1).max(50), {
    expects: "a consumer group name",
    description: "Consumer group of the device-ingest replicas.",
    default: "device-ingest",
  }),
  EVENTHUB_CHECKPOINT_CONTAINER: envVar(
    z
      .string()
      .regex(/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/)
      .optional(),
    {
      expects: "a blob container name (3-63 lowercase letters, digits and single dashes)",
      description:
        "Blob container of the partition checkpoints and ownership (what KEDA's Event Hubs scaler reads); defaults to `<EVENTFLEET_ENV>-checkpoints`.",
    },
  ),
} satisfies EnvSpec;
