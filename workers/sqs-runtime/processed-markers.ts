// Per-worker "this event was handled" markers in Redis, so a redelivered duplicate is acknowledged, not redone.
import type { RedisClient } from "../../shared/redis-connection.ts";
import { defineLuaScripts, type ScriptCommand } from "../../shared/lua-scripts.ts";
import { redisKeys, type RedisKeys } from "../../shared/redis-keys.ts";
import { groupBySlot } from "../../shared/redis-slot.ts";
import { TickBatcher } from "../../shared/tick-batcher.ts";

/**
 * Lookups and writes made in the same tick (the handlers of one batch) share one command each: one MGET and one
 * script call per batch instead of ten EXISTS and ten SETs, which is most of the runtime's Redis CPU.
 * On a Redis Cluster the keys of a batch are spread over slots: one command per slot (shared/redis-slot.ts).
 */
export class ProcessedMarkers {
  readonly #keys: RedisKeys;
  readonly #worker: string;
  readonly #lookups: TickBatcher<string, boolean>;
  readonly #writes: TickBatcher<string, undefined>;

  constructor(redis: RedisClient, options: { env: string; worker: string; ttlSeconds: number }) {
    this.#keys = redisKeys(options.env);
    this.#worker = options.worker;
    const { markProcessed } = defineLuaScripts(redis, import.meta.url, {
      markProcessed: "./mark-processed.lua",
    }) as { markProcessed: ScriptCommand<number> };
    this.#lookups = new TickBatcher(
      async (keys) => {
        const found: boolean[] = [];
        await Promise.all(
          groupBySlot(redis, keys).map(async (group) => {
            const values = await redis.mget(...group.map((i) => keys[i]!));
            group.forEach((index, k) => (found[index] = values[k] !== null));
          }),
        );
        return found;
      },
      { max: 100 },
    );
    this.#writes = new TickBatcher(
      async (keys) => {
        await Promise.all(
          groupBySlot(redis, keys).map((group) =>
            markProcessed(
              group.length,
              ...group.map((i) => keys[i]!),
              String(Date.now()),
              options.ttlSeconds,
            ),
          ),
        );
        return keys.map(() => undefined);
      },
      { max: 100 },
    );
  }

  key(eventId: string): string {
    return this.#keys.processed(this.#worker, eventId);
  }

  async isProcessed(eventId: string): Promise<boolean> {
    return this.#lookups.request(this.key(eventId));
  }

  /** Written after the effect: a crash in between redoes the handler, whose effects are idempotent by order id. */
  async markProcessed(eventId: string): Promise<void> {
    await this.#writes.request(this.key(eventId));
  }
}
