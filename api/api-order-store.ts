// The API's order store: orders and cancels are answered only once REDIS_WRITE_REPLICAS replicas have them
// (shared/redis-write-ack.ts), written on a connection of their own, as a pending WAIT holds its connection and the
// API's reads and rate limits must not wait behind it.
import { OrderStore } from "../shared/orders/order-store.ts";
import { duplicateClient, REDIS_PROFILES, type RedisClient } from "../shared/redis-connection.ts";
import type { WriteAck } from "../shared/redis-write-ack.ts";

export interface ApiOrderStore {
  store: OrderStore;
  /** Closes the write connection, if there is one (the main connection is the caller's). */
  close(): Promise<void>;
}

export function createApiOrderStore(
  redis: RedisClient,
  options: { env: string; writeAck: WriteAck },
): ApiOrderStore {
  const { writeAck } = options;
  const connection =
    writeAck.replicas > 0
      ? // Writes sent while it (re)connects wait for it within the command timeout, as it is not used before the first order.
        duplicateClient(redis, {
          commandTimeout: REDIS_PROFILES.request.commandTimeout,
          enableOfflineQueue: true,
        })
      : undefined;
  connection?.on("error", () => {}); // reconnects by itself; a write that fails meanwhile is answered 503
  const store = new OrderStore(redis, {
    env: options.env,
    writeAck: { ...writeAck, ...(connection ? { connection } : {}) },
  });
  return {
    store,
    close: async () => {
      await connection?.quit().catch(() => connection.disconnect());
    },
  };
}
