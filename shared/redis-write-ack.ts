// Replica acknowledgement of a write the API confirms to a client: the script and `WAIT <replicas> <timeout>` go in
// one pipeline to the master of the script's slot, so WAIT counts the replicas that have this very write.
//
// Why one pipeline: WAIT has no key, so ioredis' Cluster would send it alone to any node, and it counts the writes
// of the connection it arrives on. A pipeline goes to the slot of its keyed commands (the script's) as one write
// on that master's connection, and Redis runs a connection's commands in order: WAIT follows the script there.
// When a slot moves and the cluster redirects the script, the pipeline follows it, on one connection as before
// (AcknowledgedWrites). Cost: the pipeline's answer waits for the replica's acknowledgement (about one more round
// trip, master to replica), and while a WAIT is pending the master does not read further commands from that
// connection: the API sends these writes on a connection of their own (api/api-order-store.ts), and after a master's
// replicas came up short it refuses writes to that master unmade for a second instead of queueing them behind one
// WAIT after another.
import { setTimeout as delay } from "node:timers/promises";
import { Cluster } from "ioredis";
import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import { ConfigError, REDIS_WRITE_DEFAULTS, type ConfigOf, type redisWriteEnv } from "./config.ts";
import { REDIS_PROFILES, type RedisClient } from "./redis-connection.ts";
import { directTo, followMoved, nodeFor, parseRedirect } from "./redis-redirect.ts";
import { keySlot } from "./redis-slot.ts";
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

/**
 * Nothing was written: the replicas of the master this write goes to came up short a moment ago, so it is refused
 * before it is made instead of waiting behind another WAIT (see AcknowledgedWrites). A retry shortly may succeed.
 */
export class ReplicasBehindError extends Error {
  override readonly name = "ReplicasBehindError";
  constructor(what: string, holdMs: number) {
    super(
      `${what} was not written: the Redis replicas of its master did not confirm a write within the last ` +
        `${holdMs} ms (REDIS_WRITE_REPLICAS)`,
    );
  }
}

/**
 * How long a write the cluster redirected is sent again: as long as the API waits for any one Redis command
 * (REDIS_PROFILES.request.commandTimeout), measured from the first send. A time, not a count, because the waits differ
 * in kind: MOVED and ASK name the node to go to, so their resend goes at once; TRYAGAIN lasts until the migration of
 * the slot's keys ends (milliseconds to a second for an order's slot group) and CLUSTERDOWN until a failover ends
 * (the cluster's node timeout, seconds), which is better answered 503 + Retry-After than held. A fixed count of
 * resends had taken ~1 s whatever the cause.
 */
const REDIRECT_DEADLINE_MS = REDIS_PROFILES.request.commandTimeout;
/** The pause before a write goes again after TRYAGAIN or CLUSTERDOWN (jittered: API replicas do not retry in step). */
const LATER_BACKOFF: BackoffPolicy = { base: 50, max: 400, jitter: [0.5, 1] };
/**
 * After a master's replicas came up short, writes to it are refused unmade for this long: one WAIT a second at most
 * then holds that master's connection, and a replica back in sync is noticed within a second.
 */
const BEHIND_HOLD_MS = 1000;

/** Where the next send goes: the slot's master in the client's map, or a node a redirection named. */
interface Route {
  /** A node key of the client's pool (shared/redis-redirect.ts). */
  node?: string;
  /** Preceded by ASKING: the node is importing the slot and has the keys (ASK). */
  asking?: boolean;
}

/** ioredis' default of ClusterOptions.maxRedirections. */
const DEFAULT_MAX_REDIRECTIONS = 16;

type PipelineWithScripts = ReturnType<RedisClient["pipeline"]> &
  Record<string, (...args: (string | number)[]) => unknown>;

export interface AcknowledgedCall<R> {
  /** A Lua command defined on the connection with shared/lua-scripts.ts. */
  name: string;
  /** Its arguments: the key count, then the keys (all in one slot), then the rest. */
  args: (string | number)[];
  /** Names the write in errors, e.g. `order <id>`. */
  what: string;
  /** Whether this reply made a write that replicas must confirm (a refusal such as a conflict did not). */
  wrote: (reply: R) => boolean;
}

/**
 * The writes of one store that replicas must confirm (`ack.replicas` > 0), on `connection`. A connection of their own
 * keeps reads and rate limits off the connection a WAIT holds: Redis reads no further command from a connection
 * while a WAIT blocks it. Without replicas to wait for, a write is the plain script call.
 *
 * On a cluster it follows a redirection of the script itself (ioredis follows one for a pipeline only when every
 * command got it, and WAIT never does; shared/redis-redirect.ts): on MOVED the write and its WAIT go straight to the
 * node the reply names, whose slot the client's map then points to (a refresh of the map starts too, but the resend
 * does not wait for it: it may read a replica that has not heard of the move yet); on ASK they go to the importing
 * node after ASKING, in the same pipeline; on TRYAGAIN or CLUSTERDOWN they go again after a pause. All of it within
 * REDIRECT_DEADLINE_MS of the first send, after which the write fails (the API answers 503, the client retries).
 * Whichever node it goes to, the script and its WAIT go on one connection (#send says why).
 */
export class AcknowledgedWrites {
  readonly ack: WriteAck;
  readonly #redis: RedisClient;
  /** Per master (node key; "" on a single Redis): until when writes to it are refused (ReplicasBehindError). */
  readonly #behindUntil = new Map<string, number>();

  constructor(connection: RedisClient, ack: WriteAck) {
    this.#redis = connection;
    this.ack = ack;
  }

  /**
   * Runs the script and, when `ack.replicas` > 0 and `wrote(reply)`, requires that many replicas to confirm it: throws
   * WriteNotAcknowledgedError when fewer do (the write stays on the master), ReplicasBehindError when that master's
   * replicas came up short within BEHIND_HOLD_MS (nothing written), an Error naming the last redirection when the
   * cluster still redirects it after REDIRECT_DEADLINE_MS (nothing written). Returns the reply and WAIT's count
   * (undefined when no WAIT was sent or nothing was written).
   */
  async run<R>(call: AcknowledgedCall<R>): Promise<{ reply: R; acknowledged: number | undefined }> {
    const redis = this.#redis;
    if (this.ack.replicas === 0) {
      const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>)[
        call.name
      ];
      return { reply: await command!.apply(redis, call.args), acknowledged: undefined };
    }
    const key = String(call.args[1]);
    if ((this.#behindUntil.get(this.#masterOf(key)) ?? 0) > Date.now())
      throw new ReplicasBehindError(call.what, BEHIND_HOLD_MS);
    const deadline = performance.now() + REDIRECT_DEADLINE_MS;
    let route: Route = {};
    let redirections = 0;
    let pauses = 0;
    for (;;) {
      const { results, master } = await this.#send(call, route);
      const [scriptError, reply] = results[0] ?? [new Error(`${call.what}: the pipeline returned no reply`)];
      const [waitError, count] = results[1] ?? [new Error("WAIT returned no reply")];
      if (scriptError) {
        // The script did not run when it was redirected, so sending it (and its WAIT) again is safe.
        const redirect = redis instanceof Cluster ? parseRedirect(scriptError) : undefined;
        if (!redirect || !(redis instanceof Cluster)) throw scriptError; // (a single Redis never redirects)
        const stillRedirected = (after: string) =>
          new Error(
            `${call.what} was not written: the Redis Cluster still answered "${scriptError.message}" ${after} ` +
              "(a slot migration or failover that outlasts it); retry shortly",
            { cause: scriptError },
          );
        if (redirect.kind === "later") {
          const pause = backoffDelay(LATER_BACKOFF, ++pauses);
          if (performance.now() + pause >= deadline)
            throw stillRedirected(`after ${REDIRECT_DEADLINE_MS} ms`);
          if (redirect.reason === "CLUSTERDOWN") redis.refreshSlotsCache();
          await delay(pause);
          route = {};
          redirections = 0;
          continue;
        }
        // MOVED and ASK name the node: the resend goes there at once. A cluster whose nodes disagree on the owner
        // would send the write back and forth without a pause; ioredis' own bound on that (maxRedirections) applies.
        const limit = redis.options.maxRedirections ?? DEFAULT_MAX_REDIRECTIONS;
        if (++redirections > limit || performance.now() >= deadline)
          throw stillRedirected(`after ${redirections - 1} redirection(s)`);
        route =
          redirect.kind === "moved"
            ? { node: followMoved(redis, redirect) }
            : { node: nodeFor(redis, redirect.node), asking: true };
        continue;
      }
      if (!call.wrote(reply as R)) return { reply: reply as R, acknowledged: undefined };
      const acknowledged = waitError ? 0 : Number(count);
      if (acknowledged < this.ack.replicas) {
        this.#behindUntil.set(master, Date.now() + BEHIND_HOLD_MS);
        throw new WriteNotAcknowledgedError(
          call.what,
          this.ack,
          acknowledged,
          waitError ? { cause: waitError } : {},
        );
      }
      this.#behindUntil.delete(master);
      return { reply: reply as R, acknowledged };
    }
  }

  /**
   * Sends `[script, WAIT]` (`[ASKING, script, WAIT]` after an ASK) as one pipeline on ONE connection, the invariant
   * all of this rests on: WAIT counts the replicas that acknowledged the writes of the connection it arrives on, so
   * on any other connection it would not be about this write. A cluster pipeline goes to one node (the slot's master
   * in the client's map, or `route.node`), all its commands in one write on that node's connection, and Redis runs a
   * connection's commands in order; ASKING lets only the next command (the script) into a slot being imported.
   * Returns the script's and WAIT's results, and the master they went to.
   */
  async #send<R>(
    call: AcknowledgedCall<R>,
    route: Route,
  ): Promise<{ results: [Error | null, unknown][]; master: string }> {
    const pipeline = this.#redis.pipeline() as PipelineWithScripts;
    if (route.node) directTo(pipeline, route.node);
    if (route.asking) pipeline.asking();
    pipeline[call.name]!(...call.args);
    pipeline.wait(this.ack.replicas, this.ack.timeoutMs);
    // Read before the pipeline is sent (a refresh may change the map while it is under way).
    const master = route.node ?? this.#masterOf(String(call.args[1]));
    const results = (await pipeline.exec()) ?? [];
    return { results: route.asking ? results.slice(1) : results, master };
  }

  /** The master `key` is written on, as the client's slot map says (a failover moves it to another one). */
  #masterOf(key: string): string {
    return this.#redis instanceof Cluster ? (this.#redis.slots[keySlot(key)]?.[0] ?? "") : "";
  }
}
