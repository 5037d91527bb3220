// Every Redis key of eventfleet, built here and nowhere else: `ef:<EVENTFLEET_ENV>:<family>:...`, with a hash tag
// (`{...}`) wherever keys must share a Redis Cluster slot, so that one code path runs on a single Redis and a cluster.
//
// Slots (README: Redis Cluster):
// - An order's keys (hash, history, reservation, shipment), its idempotency key and the outbox stream its events go
//   to share the slot of the order's *slot group* `{g<n>}`: n = slotGroupOf(orderId) (FNV-1a of the id modulo
//   REDIS_SLOT_GROUPS). So an order and its outbox entries are written by one script, on a cluster too; each group
//   has its own outbox stream and relay consumer.
// - A SKU's stock and every order's hold on it share the SKU's slot `{s:<sku>}`: a multi-SKU reservation is one
//   script per SKU (idempotent by order id) plus one order-side script (shared/orders/saga-steps.ts).
// - Everything else (processed markers, notification leases, rate-limit buckets) is one key per command.

/** Every key of an environment starts with this prefix, so tests isolate by EVENTFLEET_ENV. */
const envPrefix = (env: string) => `ef:${env}:`;

/** FNV-1a (32 bit) over the UTF-16 code units: stable across processes and versions, cheap, well spread. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The hash tag of a slot group: every key of its orders and its outbox stream carry it. */
const groupTag = (group: number) => `{g${group}}`;
/** The hash tag of one SKU: its stock and the holds of orders on it. */
const skuTag = (sku: string) => `{s:${sku}}`;

export interface RedisKeyOptions {
  /** REDIS_SLOT_GROUPS: the number of slot groups (and outbox streams). Default 16 (shared/config.ts). */
  slotGroups?: number;
}

export const DEFAULT_SLOT_GROUPS = 16;

export function redisKeys(env: string, options: RedisKeyOptions = {}) {
  const prefix = envPrefix(env);
  const slotGroups = options.slotGroups ?? DEFAULT_SLOT_GROUPS;
  const slotGroupOf = (id: string) => fnv1a(id) % slotGroups;
  const perOrder = (orderId: string) => `${groupTag(slotGroupOf(orderId))}:${orderId}`;
  const outbox = (group: number) => `${prefix}outbox:${groupTag(group)}`;
  return {
    prefix,
    slotGroups,
    /** The slot group of an order (or of any id placed like one). */
    slotGroupOf,
    /** Hash: `status`, `version`, `data` (the placed order as JSON), `placedAt`, `updatedAt`, `owner`. */
    order: (orderId: string) => `${prefix}order:${perOrder(orderId)}`,
    /** List of JSON history entries, oldest first. */
    history: (orderId: string) => `${prefix}order:${perOrder(orderId)}:history`,
    /** The outbox stream of a slot group (consumer group `relay`; entry layout: outbox-entry.ts). */
    outbox,
    /** The outbox stream an order's events go to. */
    outboxOf: (orderId: string) => outbox(slotGroupOf(orderId)),
    /** Every outbox stream, one per slot group: the relay runs one consumer per stream. */
    outboxStreams: () => Array.from({ length: slotGroups }, (_, group) => outbox(group)),
    /**
     * The single outbox stream of the layout before slot groups: the relay drains it while it exists (entries a
     * not-yet-upgraded API wrote during a rolling upgrade). Nothing writes it any more.
     */
    legacyOutbox: `${prefix}outbox`,
    /**
     * Keys of the layout before slot groups (no hash tags, one Redis), read only by the one-shot migration
     * (shared/orders/legacy-layout-migration.ts): the key families and, from a key, the id it names.
     */
    legacy: {
      order: (orderId: string) => `${prefix}order:${orderId}`,
      history: (orderId: string) => `${prefix}order:${orderId}:history`,
      reservation: (orderId: string) => `${prefix}reservation:${orderId}`,
      shipment: (orderId: string) => `${prefix}shipment:${orderId}`,
      stock: (sku: string) => `${prefix}stock:${sku}`,
      /** SCAN patterns of each family (the current layout's keys match too: they carry a `{`). */
      patterns: {
        order: `${prefix}order:*`,
        reservation: `${prefix}reservation:*`,
        shipment: `${prefix}shipment:*`,
        stock: `${prefix}stock:*`,
      },
      /** The id a former key names (`family` as in `patterns`), or undefined for a current (tagged) key. */
      idOf: (family: "order" | "reservation" | "shipment" | "stock", key: string) => {
        const rest = key.slice(`${prefix}${family}:`.length);
        if (key.includes("{") || rest === "" || rest.includes(":")) return undefined;
        return rest;
      },
    },
    /**
     * String remembering an API response for an Idempotency-Key of one principal, 24 h. In the slot group of the
     * principal and key: the API gives the order it creates an id in that same group (OrderStore.newOrderId).
     */
    idempotency: (principal: string, key: string) =>
      `${prefix}idem:${groupTag(slotGroupOf(`${principal}\n${key}`))}:${principal}:${key}`,
    /** The slot group an Idempotency-Key of a principal belongs to. */
    idempotencyGroup: (principal: string, key: string) => slotGroupOf(`${principal}\n${key}`),
    /** Hash of one SKU's stock: `available`, `reserved` (shared/orders/stock.ts). */
    stock: (sku: string) => `${prefix}stock:${skuTag(sku)}`,
    /** Hash of an order's hold on one SKU, in the SKU's slot (lua/stock-holds.lua). */
    stockHold: (sku: string, orderId: string) => `${prefix}stock:${skuTag(sku)}:hold:${orderId}`,
    /** Hash of an order's reservation: `status`, `detail` (lines or missing lines as JSON), `at`. */
    reservation: (orderId: string) => `${prefix}reservation:${perOrder(orderId)}`,
    /** Hash of an order's shipment: `status`, `shipmentId`, `carrier`, `trackingNumber`, times. */
    shipment: (orderId: string) => `${prefix}shipment:${perOrder(orderId)}`,
    /** String: a worker handled this event (a redelivery is acknowledged, not redone). */
    processed: (worker: string, eventId: string) => `${prefix}processed:${worker}:${eventId}`,
    /** String: the notification worker's lease on delivering one event. */
    notifyLease: (eventId: string) => `${prefix}notify-lease:${eventId}`,
    /** Hash: the API's token bucket of one principal. */
    rateLimit: (principal: string) => `${prefix}ratelimit:${principal}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
