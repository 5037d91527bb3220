// Every Redis key of eventfleet, built here and nowhere else: `ef:<EVENTFLEET_ENV>:<family>:...`.
//
// The keys of one order (hash, history, reservation, shipment) go through `perOrder`, the stock of one SKU
// through `perSku`: a Redis Cluster deployment would add its hash tags there (`{<orderId>}`), in this file only.
// Not done today: the saga scripts also touch the outbox stream and stock of several SKUs, so they assume one node.

/** Every key of an environment starts with this prefix, so tests isolate by EVENTFLEET_ENV. */
const envPrefix = (env: string) => `ef:${env}:`;

/** The part of a key that names one order (where a cluster hash tag would go). */
const perOrder = (orderId: string) => orderId;
/** The part of a key that names one SKU (where a cluster hash tag would go). */
const perSku = (sku: string) => sku;

export function redisKeys(env: string) {
  const prefix = envPrefix(env);
  return {
    prefix,
    /** Hash: `status`, `version`, `data` (the placed order as JSON), `placedAt`, `updatedAt`, `owner`. */
    order: (orderId: string) => `${prefix}order:${perOrder(orderId)}`,
    /** List of JSON history entries, oldest first. */
    history: (orderId: string) => `${prefix}order:${perOrder(orderId)}:history`,
    /** The outbox stream the relay publishes to SNS (consumer group `relay`; entry layout: outbox-entry.ts). */
    outbox: `${prefix}outbox`,
    /** String remembering an API response for an Idempotency-Key of one principal, 24 h. */
    idempotency: (principal: string, key: string) => `${prefix}idem:${principal}:${key}`,
    /** Hash of one SKU's stock: `available`, `reserved` (shared/orders/stock.ts). */
    stock: (sku: string) => `${prefix}stock:${perSku(sku)}`,
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
