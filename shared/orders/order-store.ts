// The order store in Redis: orders with status, version and history, and the outbox stream.
//
// Every state change is one Lua script (this folder's *.lua), so an order and the events announcing it are
// written together or not at all; the relay (api/outbox-relay.ts) is the one way those events reach SNS.
// The workers' saga steps, which move stock and shipments with the order, are saga-steps.ts; stock is stock.ts.
//
// Usage (API and workers alike):
//   const store = new OrderStore(redis, { env: config.EVENTFLEET_ENV });
//   await store.createOrder({ order, event });                       // order.placed, in the API
//   const r = await store.transition(orderId, {                      // in a worker
//     allowedFrom: ["ACKNOWLEDGED"], to: "INVENTORY_RESERVED",
//     history: { stage: "INVENTORY_RESERVED", detail: { items } },
//     events: [newCloudEvent({ type: "inventory.reserved", ... })], // orderversion is stamped in when absent
//   });
//   if (!r.applied && r.reason === "wrong_state" && r.order.status === "INVENTORY_RESERVED") { /* duplicate */ }
//   await store.appendHistory(orderId, { stage: "NOTIFIED", detail: { event: "order.shipped" } });
//   await store.appendToOutbox([event]);                             // an event with no order change
import { randomUUID } from "node:crypto";
import { slotGroupsOf, type RedisClient } from "../redis-connection.ts";
import { defineLuaScripts, type ScriptCommand } from "../lua-scripts.ts";
import type { OrderPlacedData, OrderStatus } from "../events/order-events.ts";
import { redisKeys, type RedisKeys } from "../redis-keys.ts";
import { AcknowledgedWrites, NO_WRITE_ACK, type WriteAck } from "../redis-write-ack.ts";
import { historyEntryJson, type HistoryInput, type OrderHistoryEntry } from "./order-history.ts";
import { outboxEventArgs, unversionedOutboxEventArgs, type OutboxEvent } from "./outbox-entry.ts";
import { Stock, type StockLevel } from "./stock.ts";

export type { HistoryInput, OrderHistoryEntry } from "./order-history.ts";
export type { OutboxEvent } from "./outbox-entry.ts";
export type { StockLevel } from "./stock.ts";

/**
 * Where each status may come from: status only moves forward (ARCHITECTURE.md §1). A transition's
 * `allowedFrom` is narrowed to these, so no caller can move an order backwards by mistake.
 */
export const FORWARD_FROM: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  ACKNOWLEDGED: [],
  INVENTORY_RESERVED: ["ACKNOWLEDGED"],
  REJECTED: ["ACKNOWLEDGED"],
  SHIPPED: ["INVENTORY_RESERVED"],
  CANCELLED: ["ACKNOWLEDGED", "INVENTORY_RESERVED"],
};

/** Statuses after which nothing changes any more. */
export const FINAL_STATUSES: readonly OrderStatus[] = ["REJECTED", "SHIPPED", "CANCELLED"];

/** An order as stored: the placed order's data plus its state. */
export interface OrderRecord extends OrderPlacedData {
  /** The principal that placed the order (the API's caller), when it was recorded. */
  owner?: string;
  status: OrderStatus;
  version: number;
  updatedAt: string;
  history: OrderHistoryEntry[];
}

export interface CreateOrderInput {
  /** The order's data, exactly as the `order.placed` event carries it. */
  order: OrderPlacedData;
  /** The `order.placed` CloudEvent. */
  event: OutboxEvent;
  /** The principal placing the order; only it (or an operator) may read or cancel it through the API. */
  owner?: string;
  /** Makes the create idempotent per principal and key (the API's Idempotency-Key header). */
  idempotency?: {
    principal: string;
    key: string;
    /** A hash of the request; the same key with another fingerprint is a conflict. */
    fingerprint: string;
    /** What to answer to a replay of the request (stored as given). */
    response: string;
    ttlSeconds: number;
  };
}

/** `acknowledgedBy`: the replicas that confirmed the write (WAIT's answer), when the store waits for replicas. */
export type CreateOrderResult =
  | { outcome: "created"; acknowledgedBy?: number }
  | { outcome: "replay"; response: string; acknowledgedBy?: number }
  | { outcome: "conflict" };

export interface TransitionInput {
  /** Statuses the order may be in for this change to apply (narrowed to FORWARD_FROM[to]). */
  allowedFrom: readonly OrderStatus[];
  to: OrderStatus;
  /** Apply only when the order still has this version (optimistic concurrency). */
  expectedVersion?: number;
  /** The history entry; `stage` defaults to `to`. */
  history?: HistoryInput;
  /** Events appended to the outbox in the same step; those without `orderversion` get the new version. */
  events?: readonly OutboxEvent[];
}

export type TransitionResult =
  | { applied: true; order: OrderRecord }
  | { applied: false; reason: "not_found"; order: undefined }
  | { applied: false; reason: "wrong_state" | "stale_version"; order: OrderRecord };

export type AppendHistoryResult =
  { applied: true; order: OrderRecord } | { applied: false; reason: "not_found"; order: undefined };

export interface OrderStoreOptions {
  /** EVENTFLEET_ENV: the key prefix `ef:<env>:`. */
  env: string;
  /** REDIS_SLOT_GROUPS; default: the connection's (shared/redis-connection.ts slotGroupsOf). */
  slotGroups?: number;
  /**
   * Replicas that must confirm the writes a client is told about (createOrder, transition: the API's place and cancel)
   * before they return; fewer: WriteNotAcknowledgedError, or ReplicasBehindError (shared/redis-write-ack.ts).
   * `connection`: where those writes and their WAITs go (default: the store's), so that a WAIT holds no read.
   * Default: none waited for.
   */
  writeAck?: WriteAck & { connection?: RedisClient };
}

const SCRIPTS = {
  efOrderCreate: "order-create.lua",
  efOrderTransition: "order-transition.lua",
  efOrderAppendHistory: "order-append-history.lua",
  efOutboxAppend: "outbox-append.lua",
} as const;

function pairsToObject(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

function toRecord(hash: Record<string, string>, history: readonly string[]): OrderRecord | undefined {
  if (hash.status === undefined || hash.data === undefined) return undefined;
  const data = JSON.parse(hash.data) as OrderPlacedData;
  return {
    ...data,
    ...(hash.owner ? { owner: hash.owner } : {}),
    status: hash.status as OrderStatus,
    version: Number(hash.version),
    updatedAt: hash.updatedAt ?? data.placedAt,
    history: history.map((line) => JSON.parse(line) as OrderHistoryEntry),
  };
}

/** The order store. One per process (it defines its scripts on the Redis client it is given). */
export class OrderStore {
  readonly keys: RedisKeys;
  readonly #redis: RedisClient;
  readonly #stock: Stock;
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCommand>;
  readonly #writes: AcknowledgedWrites;

  constructor(redis: RedisClient, options: OrderStoreOptions) {
    this.#redis = redis;
    this.keys = redisKeys(options.env, { slotGroups: options.slotGroups ?? slotGroupsOf(redis) });
    this.#stock = new Stock(redis, { ...options, slotGroups: this.keys.slotGroups });
    this.#scripts = defineLuaScripts(redis, import.meta.url, SCRIPTS);
    const connection = options.writeAck?.connection ?? redis;
    if (connection !== redis) defineLuaScripts(connection, import.meta.url, SCRIPTS);
    this.#writes = new AcknowledgedWrites(connection, options.writeAck ?? NO_WRITE_ACK);
  }

  /**
   * A fresh order id (uuid). With an Idempotency-Key, one in the key's slot group, so that the order, its outbox
   * entry and the key are written by one script on a Redis Cluster too (about REDIS_SLOT_GROUPS uuids drawn).
   */
  newOrderId(idempotency?: { principal: string; key: string }): string {
    if (!idempotency) return randomUUID();
    const group = this.keys.idempotencyGroup(idempotency.principal, idempotency.key);
    for (;;) {
      const id = randomUUID();
      if (this.keys.slotGroupOf(id) === group) return id;
    }
  }

  /**
   * Writes a new order (ACKNOWLEDGED, version 1, history `ACKNOWLEDGED`) and its `order.placed` event in one
   * step. With `idempotency`, a request seen before under the same key answers `replay` (same fingerprint) or
   * `conflict` (another fingerprint) and writes nothing. With `writeAck`, a created order and a replay (its key is
   * rewritten, so WAIT covers everything the master had) throw WriteNotAcknowledgedError when too few replicas confirm.
   */
  async createOrder(input: CreateOrderInput): Promise<CreateOrderResult> {
    const { order, event, idempotency } = input;
    const keys = [
      this.keys.order(order.orderId),
      this.keys.history(order.orderId),
      this.keys.outboxOf(order.orderId),
    ];
    if (idempotency) {
      const group = this.keys.idempotencyGroup(idempotency.principal, idempotency.key);
      if (this.keys.slotGroupOf(order.orderId) !== group)
        throw new Error(
          `order ${order.orderId} is not in the slot group of its Idempotency-Key: take its id from newOrderId()`,
        );
      keys.push(this.keys.idempotency(idempotency.principal, idempotency.key));
    }
    const { reply, acknowledged } = await this.#writes.run<[string, string?]>({
      name: "efOrderCreate",
      args: [
        keys.length,
        ...keys,
        JSON.stringify(order),
        order.placedAt,
        historyEntryJson({ at: order.placedAt, eventId: event.id }, "ACKNOWLEDGED", "ACKNOWLEDGED", 1),
        ...unversionedOutboxEventArgs(event),
        idempotency?.fingerprint ?? "",
        idempotency?.response ?? "",
        idempotency?.ttlSeconds ?? 0,
        input.owner ?? "",
      ],
      what: `order ${order.orderId}`,
      wrote: ([outcome]) => outcome === "created" || outcome === "replay",
    });
    const ack = acknowledged === undefined ? {} : { acknowledgedBy: acknowledged };
    switch (reply[0]) {
      case "created":
        return { outcome: "created", ...ack };
      case "replay":
        return { outcome: "replay", response: reply[1] ?? "", ...ack };
      case "conflict":
        return { outcome: "conflict" };
      default:
        throw new Error(`order ${order.orderId} already exists (order ids must be fresh uuids)`);
    }
  }

  /** The order with its history, or undefined when unknown. */
  async getOrder(orderId: string): Promise<OrderRecord | undefined> {
    // One MULTI, so status, version and history are read from the same moment.
    const replies = await this.#redis
      .multi()
      .hgetall(this.keys.order(orderId))
      .lrange(this.keys.history(orderId), 0, -1)
      .exec();
    const [[hashError, hash], [historyError, history]] = replies as [
      [Error | null, unknown],
      [Error | null, unknown],
    ];
    if (hashError ?? historyError) throw (hashError ?? historyError)!;
    return toRecord(hash as Record<string, string>, history as string[]);
  }

  /**
   * Cancels the order if it can still be cancelled (ACKNOWLEDGED or INVENTORY_RESERVED), recording the cancel's
   * event id and reason: the one cancel of the API and the workers. Not applied: as for transition().
   */
  async cancel(
    orderId: string,
    input: { eventId: string; reason?: string | undefined; events?: readonly OutboxEvent[] },
  ): Promise<TransitionResult> {
    return this.transition(orderId, {
      allowedFrom: FORWARD_FROM.CANCELLED,
      to: "CANCELLED",
      history: { eventId: input.eventId, ...(input.reason ? { detail: { reason: input.reason } } : {}) },
      ...(input.events ? { events: input.events } : {}),
    });
  }

  /**
   * Moves the order to `to` when its status is in `allowedFrom` (and FORWARD_FROM[to]) and, if given, its
   * version is `expectedVersion`: status, version+1, history entry and events in one Lua script.
   * Not applied: `not_found`; `wrong_state` (includes "already there": check `order.status === to` to spot a
   * duplicate delivery); `stale_version`. With `writeAck`, an applied change throws WriteNotAcknowledgedError when
   * too few replicas confirm it (it is made on the master all the same).
   */
  async transition(orderId: string, input: TransitionInput): Promise<TransitionResult> {
    const allowed = input.allowedFrom.filter((from) => FORWARD_FROM[input.to].includes(from));
    const events = input.events ?? [];
    const { reply } = await this.#writes.run<[string, unknown, string[]]>({
      name: "efOrderTransition",
      args: [
        3,
        this.keys.order(orderId),
        this.keys.history(orderId),
        this.keys.outboxOf(orderId),
        // An empty list can never match, which is what a backwards transition deserves.
        allowed.length > 0 ? allowed.join(",") : "-",
        input.to,
        input.expectedVersion ?? "",
        historyEntryJson(input.history ?? {}, input.to, input.to),
        new Date().toISOString(),
        events.length,
        ...events.flatMap((event) => outboxEventArgs(event)),
      ],
      what: `the change of order ${orderId} to ${input.to}`,
      wrote: ([outcome]) => outcome === "applied",
    });
    const [outcome, hash, history] = reply;
    if (outcome === "not_found") return { applied: false, reason: "not_found", order: undefined };
    const order = toRecord(pairsToObject(hash), history);
    if (!order) return { applied: false, reason: "not_found", order: undefined };
    if (outcome === "applied") return { applied: true, order };
    return { applied: false, reason: outcome as "wrong_state" | "stale_version", order };
  }

  /**
   * Adds a history entry without changing status or version (e.g. `NOTIFIED`), plus optional outbox events,
   * in one step. `entry.stage` is required here.
   */
  async appendHistory(
    orderId: string,
    entry: HistoryInput & { stage: string },
    events: readonly OutboxEvent[] = [],
  ): Promise<AppendHistoryResult> {
    const reply = (await this.#scripts.efOrderAppendHistory(
      3,
      this.keys.order(orderId),
      this.keys.history(orderId),
      this.keys.outboxOf(orderId),
      historyEntryJson(entry, entry.stage),
      events.length,
      ...events.flatMap((event) => outboxEventArgs(event)),
    )) as [string, unknown, string[]];
    const order = reply[0] === "applied" ? toRecord(pairsToObject(reply[1]), reply[2]) : undefined;
    return order ? { applied: true, order } : { applied: false, reason: "not_found", order: undefined };
  }

  /**
   * Appends CloudEvents to the outbox: each to the stream of its order's slot group (subject `order/<id>`; other
   * events by their own id), in order per stream. Returns the stream entry ids, in the order of `events`.
   */
  async appendToOutbox(events: readonly OutboxEvent[]): Promise<string[]> {
    const byStream = new Map<string, number[]>();
    events.forEach((event, i) => {
      const orderId = /^order\/(.+)$/.exec(event.subject ?? "")?.[1];
      const stream = orderId
        ? this.keys.outboxOf(orderId)
        : this.keys.outbox(this.keys.slotGroupOf(event.id));
      byStream.set(stream, [...(byStream.get(stream) ?? []), i]);
    });
    const ids: string[] = [];
    await Promise.all(
      [...byStream].map(async ([stream, indexes]) => {
        const written = (await this.#scripts.efOutboxAppend(
          1,
          stream,
          indexes.length,
          ...indexes.flatMap((i) => unversionedOutboxEventArgs(events[i]!)),
        )) as string[];
        indexes.forEach((index, k) => (ids[index] = written[k]!));
      }),
    );
    return ids;
  }

  /** Stock of a SKU (shared/orders/stock.ts); an unknown SKU has 0 available and 0 reserved. */
  getStock(sku: string): Promise<StockLevel> {
    return this.#stock.get(sku);
  }

  /** Sets the units available for reservation; reservations already held stay as they are. */
  setAvailable(sku: string, available: number): Promise<StockLevel> {
    return this.#stock.setAvailable(sku, available);
  }
}
