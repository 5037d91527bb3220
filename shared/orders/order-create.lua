-- Creates an order (status ACKNOWLEDGED, version 1, first history entry) and appends its order.placed event to
-- the outbox, all or nothing. With an idempotency key, a repeated request replays the stored response instead.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream, KEYS[4] idempotency key (optional)
-- ARGV[1] order data JSON, ARGV[2] placedAt, ARGV[3] history entry JSON,
-- ARGV[4..8] the event (5 values, see outbox-events.lua), ARGV[9] request fingerprint, ARGV[10] response JSON,
-- ARGV[11] idempotency TTL in seconds, ARGV[12] owner (the placing principal; empty: none recorded)
-- Returns {"created"} | {"replay", response JSON} (rewrites the key, unchanged) | {"conflict"} (same key, other request) | {"exists"}
-- #include shared/orders/lua/outbox-events.lua
if KEYS[4] then
  local stored = redis.call('GET', KEYS[4])
  if stored then
    local sep = string.find(stored, '\n', 1, true)
    if string.sub(stored, 1, sep - 1) == ARGV[9] then
      -- Rewritten as it is (same value and TTL) so that this replay is a write: a WAIT after it then waits for
      -- everything this master had, the first request's order included (shared/redis-write-ack.ts).
      redis.call('SET', KEYS[4], stored, 'KEEPTTL')
      return {'replay', string.sub(stored, sep + 1)}
    end
    return {'conflict'}
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
redis.call('HSET', KEYS[1], 'status', 'ACKNOWLEDGED', 'version', 1, 'data', ARGV[1],
  'placedAt', ARGV[2], 'updatedAt', ARGV[2])
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[12])
end
redis.call('RPUSH', KEYS[2], ARGV[3])
appendEvents(KEYS[3], readEvents(4, 1), 1)
if KEYS[4] then
  redis.call('SET', KEYS[4], ARGV[9] .. '\n' .. ARGV[10], 'EX', tonumber(ARGV[11]))
end
return {'created'}
