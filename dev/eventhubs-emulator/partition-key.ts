// Partition key → partition, the way Event Hubs maps it: Jenkins lookup3 over the UTF-8 bytes, the
// two hash words XORed and cast to int16, absolute value modulo the partition count.
// Same key, same partition, across restarts and across the SDK's own client-side mapping.

function rotate(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** lookup3 `hashlittle2` with both seeds 0; returns the two 32-bit words (b, c). */
function lookup3(data: Buffer): { b: number; c: number } {
  let a = (0xdeadbeef + data.length) | 0;
  let b = a;
  let c = a;
  let index = 0;
  let size = data.length;
  while (size > 12) {
    a = (a + data.readInt32LE(index)) | 0;
    b = (b + data.readInt32LE(index + 4)) | 0;
    c = (c + data.readInt32LE(index + 8)) | 0;
    a = (a - c) | 0;
    a ^= rotate(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rotate(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rotate(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rotate(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rotate(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rotate(b, 4);
    b = (b + a) | 0;
    index += 12;
    size -= 12;
  }
  if (size === 0) return { b, c };
  // The tail: up to 12 bytes, little-endian, into a, b and c.
  const tail = [0, 0, 0];
  for (let i = 0; i < size; i++) tail[i >> 2]! += data[index + i]! << (8 * (i & 3));
  a = (a + tail[0]!) | 0;
  b = (b + tail[1]!) | 0;
  c = (c + tail[2]!) | 0;
  c ^= b;
  c = (c - rotate(b, 14)) | 0;
  a ^= c;
  a = (a - rotate(c, 11)) | 0;
  b ^= a;
  b = (b - rotate(a, 25)) | 0;
  c ^= b;
  c = (c - rotate(b, 16)) | 0;
  a ^= c;
  a = (a - rotate(c, 4)) | 0;
  b ^= a;
  b = (b - rotate(a, 14)) | 0;
  c ^= b;
  c = (c - rotate(b, 24)) | 0;
  return { b, c };
}

/** The partition index (0-based) that the service assigns to events with this partition key. */
export function partitionForKey(partitionKey: string, partitionCount: number): number {
  const { b, c } = lookup3(Buffer.from(partitionKey, "utf8"));
  const hash16 = ((c ^ b) << 16) >> 16;
  return Math.abs(hash16 % partitionCount);
}
