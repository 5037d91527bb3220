// Replica acknowledgement of a write the API confirms to a client: the script and `WAIT <replicas> <timeout>` go in
// one pipeline to the master of the script's slot, so WAIT counts the replicas that have this very write.
//
// Why one pipeline: WAIT has no key, so ioredis' Cluster would send it alone to any node, and it counts the writes
// of the connection it arrives on. A pipeline goes to the slot of its keyed commands (the script's) as one write
// on that master's connection, and Redis runs a connection's commands in order: WAIT follows the script there.
// Cost: the pipeline's answer waits for the replica's acknowledgement (about one more round trip, master to replica),
// and while a WAIT is pending the master does not read further commands from that connection.
import { Cluster } from "ioredis";
import { ConfigError, REDIS_WRITE_DEFAULTS, type ConfigOf, type redisWriteEnv } from "./config.ts";
import { REDIS_PROFILES, type RedisClient } from "./redis-connection.ts";
import type { RedisTarget } from "./redis-target.ts";

export interface WriteAck {
  /** Replicas that must confirm; 0: no WAIT at all (the single-Redis default). */
  replicas: number;
  /** WAIT's timeout. */
  timeoutMs: number;
}

/** No replica waited for: what a store without REDIS_WRITE_REPLICAS does (workers, tools, tests). */
export const NO_WRITE_ACK: WriteAck = { replicas: 0, timeoutMs: REDIS_WRITE_DEFAULTS.timeoutMs };

/**
 * REDIS_WRITE_REPLICAS / REDIS_WRITE_TIMEOUT_MS with their defaults (shared/config.ts REDIS_WRITE_DEFAULTS): unset
 * replicas are 1 on a cluster and 0 on a single Redis. A timeout the API's Redis command timeout would cut off first
 * is a ConfigError (the client would see a Redis outage instead of the replicas' answer).
 */
export function resolveWriteAck(
  config: ConfigOf<typeof redisWriteEnv>,
  target: Pick<RedisTarget, "mode">,
): WriteAck {
  const commandTimeout = REDIS_PROFILES.request.commandTimeout;
  if (config.REDIS_WRITE_TIMEOUT_MS >= commandTimeout) {
    throw new ConfigError(
      "REDIS_WRITE_TIMEOUT_MS",
      `REDIS_WRITE_TIMEOUT_MS: got ${config.REDIS_WRITE_TIMEOUT_MS}, expected less than ${commandTimeout} ms, the API's ` +
        `Redis command timeout, which would end the wait first; lower it (default ${REDIS_WRITE_DEFAULTS.timeoutMs})`,
    );
  }
  const replicas =
    config.REDIS_WRITE_REPLICAS ??
    (target.mode === "cluster" ? REDIS_WRITE_DEFAULTS.clusterReplicas : REDIS_WRITE_DEFAULTS.singleReplicas);
  return { replicas, timeoutMs: config.REDIS_WRITE_TIMEOUT_MS };
}

/**
 * The write was made on the master but fewer replicas than required confirmed it in time: a master that dies now
 * loses it, a master that lives keeps it (and its outbox entry is published). So it is neither accepted nor refused;
 * the API answers 503 and the client retries with the same Idempotency-Key.
 */
export class WriteNotAcknowledgedError extends Error {
  override readonly name = "WriteNotAcknowledgedError";
  readonly acknowledged: number;
  readonly required: number;
  readonly timeoutMs: number;
  constructor(what: string, ack: WriteAck, acknowledged: number, options?: ErrorOptions) {
    super(
      `${what} was written to the Redis master, but ${acknowledged} of the ${ack.replicas} replica(s) required ` +
        `(REDIS_WRITE_REPLICAS) confirmed it within ${ack.timeoutMs} ms`,
      options,
    );
    this.acknowledged = acknowledged;
    this.required = ack.replicas;
    this.timeoutMs = ack.timeoutMs;
  }
}

/** The script did not run because the slot is elsewhere or moving: the pipeline may be sent again. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;
const REDIRECT_ATTEMPTS = 5;
const REDIRECT_DELAY_MS = 100;

type PipelineWithScripts = ReturnType<RedisClient["pipeline"]> &
  Record<string, (...args: (string | number)[]) => unknown>;

/**
 * Runs the Lua command `name` (defined with shared/lua-scripts.ts) with `args` and, when `ack.replicas` > 0 and
 * `wrote(reply)`, requires that many replicas to confirm it: throws WriteNotAcknowledgedError (naming `what`) when
 * fewer do. Returns the script's reply and the count WAIT answered (undefined when no WAIT was sent).
 */
export async function runAcknowledged<R>(
  redis: RedisClient,
  ack: WriteAck,
  call: { name: string; args: (string | number)[]; what: string; wrote: (reply: R) => boolean },
): Promise<{ reply: R; acknowledged: number | undefined }> {
  if (ack.replicas === 0) {
    const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>)[
      call.name
    ];
    return { reply: await command!.apply(redis, call.args), acknowledged: undefined };
  }
  for (let attempt = 1; ; attempt++) {
    const pipeline = redis.pipeline() as PipelineWithScripts;
    pipeline[call.name]!(...call.args);
    pipeline.wait(ack.replicas, ack.timeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const [scriptError, reply] = results[0] ?? [new Error(`${call.what}: the pipeline returned no reply`)];
    const [waitError, count] = results[1] ?? [new Error("WAIT returned no reply")];
    if (scriptError) {
      // A cluster pipeline follows a redirection only when every command got it; WAIT never does. The script did
      // not run, so sending both again (to the slot's new master once the slot map is fresh) is safe.
      if (redis instanceof Cluster && REDIRECTED.test(scriptError.message) && attempt < REDIRECT_ATTEMPTS) {
        if (scriptError.message.startsWith("MOVED")) redis.refreshSlotsCache();
        await new Promise((resolve) => setTimeout(resolve, REDIRECT_DELAY_MS * attempt));
        continue;
      }
      throw scriptError;
    }
    if (!call.wrote(reply as R)) return { reply: reply as R, acknowledged: undefined };
    const acknowledged = waitError ? 0 : Number(count);
    if (acknowledged < ack.replicas) {
      throw new WriteNotAcknowledgedError(
        call.what,
        ack,
        acknowledged,
        waitError ? { cause: waitError } : {},
      );
    }
    return { reply: reply as R, acknowledged };
  }
}
