// Which Redis Cluster hash slot a key lives in (CRC16-XMODEM of the key, or of its `{hash tag}`, modulo 16384), and
// grouping keys by slot so that multi-key commands (MGET, a script over many keys) stay within one slot there.
import { isCluster, type RedisClient } from "./redis-connection.ts";

const SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** The hash slot of `key` as Redis Cluster computes it (CLUSTER KEYSLOT): only a non-empty first {tag} counts. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key, "utf8")) % SLOTS;
}

/**
 * `keys` split into groups that one multi-key command may take: one group on a single Redis, one per slot on a
 * cluster. Indexes into `keys` are returned, so callers can put replies back in place.
 */
export function groupBySlot(redis: RedisClient, keys: readonly string[]): number[][] {
  if (!isCluster(redis)) return [keys.map((_, i) => i)];
  const groups = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    groups.set(slot, [...(groups.get(slot) ?? []), i]);
  });
  return [...groups.values()];
}
