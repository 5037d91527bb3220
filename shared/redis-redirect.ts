// A Redis Cluster's redirection of a command (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) read from its reply, and how a
// pipeline of ours follows one to the node the reply names, as ioredis' Cluster does for commands and pipelines whose
// every command was redirected (node_modules/ioredis/built/cluster/index.js sendCommand, built/Pipeline.js).
//
// ioredis leaves the redirection to the caller when only part of a pipeline got it (the script of a `[script, WAIT]`
// pipeline: WAIT has no key and is answered wherever it goes). Following it needs three things ioredis keeps to itself
// (typed `private` in its declarations, so reached through ClusterInternals below, checked at run time): its
// connection pool (a connection to the named node, created if the client does not know that node yet, e.g. one added
// by a scale-out), its NAT mapping of node addresses, and a pipeline's preferred node. Pinned by package-lock.json;
// test/redis-cluster/write-ack.test.ts follows MOVED and ASK on a real cluster, so an ioredis that changes them fails
// there and here (the error names this file).
import type { Cluster, Redis } from "ioredis";

/** Where a redirected command is to go instead, read from the error it got. */
export type Redirect =
  /** The slot has a new owner: go there, and from now on (the client's slot map is stale). */
  | { kind: "moved"; slot: number; node: string }
  /** The slot is being migrated and the key is already on `node`: go there once, preceded by ASKING. */
  | { kind: "ask"; slot: number; node: string }
  /**
   * Not now: TRYAGAIN (a multi-key command during a slot's migration, its keys split between both nodes) or
   * CLUSTERDOWN (the slot's master is failing over, or the cluster lost its majority). Send it again later.
   */
  | { kind: "later"; reason: "TRYAGAIN" | "CLUSTERDOWN" };

// A node named by its address; an empty one (`MOVED 3999 :6380`, cluster-preferred-endpoint-type unknown-endpoint)
// is not followed: the write fails as it is rather than go to a guessed host.
const REDIRECT = /^(MOVED|ASK) (\d+) (\S+:\d+)$/;

/**
 * The redirection an error reply stands for, or undefined for any other error. A command that got one was not run,
 * so sending it again is safe.
 */
export function parseRedirect(error: Error): Redirect | undefined {
  const match = REDIRECT.exec(error.message);
  if (match) {
    const slot = Number(match[2]);
    // As ioredis: a slot out of range is no redirection (it would index the slot map out of its bounds).
    if (slot >= 16384) return undefined;
    return { kind: match[1] === "MOVED" ? "moved" : "ask", slot, node: match[3]! };
  }
  if (error.message.startsWith("TRYAGAIN")) return { kind: "later", reason: "TRYAGAIN" };
  if (error.message.startsWith("CLUSTERDOWN")) return { kind: "later", reason: "CLUSTERDOWN" };
  return undefined;
}

/** The parts of ioredis' Cluster (6.x) that following a redirection needs and its declarations keep private. */
interface ClusterInternals {
  connectionPool: { findOrCreate(node: { host?: string; port?: number }, readOnly?: boolean): Redis };
  natMapper(nodeKey: string): { host?: string; port?: number };
}

function internals(cluster: Cluster): ClusterInternals {
  const inside = cluster as unknown as Partial<ClusterInternals>;
  if (typeof inside.connectionPool?.findOrCreate !== "function" || typeof inside.natMapper !== "function") {
    throw new Error(
      "this ioredis Cluster has no connectionPool.findOrCreate or natMapper (ioredis 6 has both): " +
        "shared/redis-redirect.ts must be adapted to the installed ioredis before a redirected write can be followed",
    );
  }
  return inside as ClusterInternals;
}

/** The client's connection to the node `host:port` a redirection names, created (and kept by the client) if new. */
function connectionTo(cluster: Cluster, node: string): Redis {
  const inside = internals(cluster);
  // A master, as MOVED and ASK only name masters.
  return inside.connectionPool.findOrCreate(inside.natMapper(node), false);
}

/**
 * After `MOVED <slot> <node>`: the client's slot map sends the slot to `node` from now on (as ioredis does on MOVED),
 * and a refresh of the whole map starts in the background for the slots that moved with it. Returns `node`'s key in
 * the client's pool, for directTo.
 *
 * Why not wait for the refresh instead: it reads the map of one node, possibly a replica that has not heard of the
 * move yet (gossip takes a second or more on a loaded machine), and would send the write back to the old master.
 * The MOVED reply comes from the node that gave the slot away: it is the news itself.
 */
export function followMoved(cluster: Cluster, redirect: { slot: number; node: string }): string {
  const key = nodeKeyOf(connectionTo(cluster, redirect.node));
  const slot = redirect.slot;
  // Exactly what ioredis' Pipeline does on MOVED (its group ids serve autopipelining and multi-slot pipelines).
  cluster.slots[slot] = [key];
  cluster._groupsBySlot[slot] = cluster._groupsIds[key]!;
  cluster.refreshSlotsCache();
  return key;
}

/**
 * `node`'s key in the client's pool (the connection created if new), for a pipeline that must go there whatever
 * the slot map says: the node an ASK names.
 */
export function nodeFor(cluster: Cluster, node: string): string {
  return nodeKeyOf(connectionTo(cluster, node));
}

/**
 * Sends every command of `pipeline` (of `cluster`) to the pool's connection `nodeKey` (from followMoved or nodeFor)
 * instead of the slot's master in the client's map: ioredis' Pipeline sends to its preferred node when it has one
 * (how it follows a redirection of all its commands), and all of a pipeline's commands on that one connection.
 */
export function directTo(pipeline: object, nodeKey: string): void {
  (pipeline as { preferKey?: string }).preferKey = nodeKey;
}

function nodeKeyOf(connection: Redis): string {
  return `${connection.options.host}:${connection.options.port}`;
}
