// The Redis key layout of orders, their history, the outbox stream and API idempotency records.

/** Every key of an environment starts with this prefix, so tests isolate by EVENTFLEET_ENV. */
export const envPrefix = (env: string) => `ef:${env}:`;

export function orderKeys(env: string) {
  const prefix = envPrefix(env);
  return {
    /** Hash: `status`, `version`, `data` (the placed order as JSON), `placedAt`, `updatedAt`, `owner`. */
    order: (orderId: string) => `${prefix}order:${orderId}`,
    /** List of JSON history entries, oldest first. */
    history: (orderId: string) => `${prefix}order:${orderId}:history`,
    /** The outbox stream the relay publishes to SNS (consumer group `relay`). */
    outbox: `${prefix}outbox`,
    /** String (JSON) remembering an API response for an Idempotency-Key of one principal, 24 h. */
    idempotency: (principal: string, key: string) => `${prefix}idem:${principal}:${key}`,
  };
}

export type OrderKeys = ReturnType<typeof orderKeys>;
