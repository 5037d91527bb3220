-- Creates an order (status ACKNOWLEDGED, version 1, first history entry) and appends its order.placed event to
-- the outbox, all or nothing. With an idempotency key, a repeated request replays the stored response instead.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream, KEYS[4] idempotency key (optional)
-- ARGV[1] order data JSON, ARGV[2] placedAt, ARGV[3] history entry JSON,
-- ARGV[4] event JSON, ARGV[5] event type, ARGV[6] traceparent, ARGV[7] event id,
-- ARGV[8] request fingerprint, ARGV[9] response JSON, ARGV[10] idempotency TTL in seconds,
-- ARGV[11] owner (the placing principal; empty: none recorded)
-- Returns {"created"} | {"replay", response JSON} | {"conflict"} (same key, other request) | {"exists"}
if KEYS[4] then
  local stored = redis.call('GET', KEYS[4])
  if stored then
    local sep = string.find(stored, '\n', 1, true)
    if string.sub(stored, 1, sep - 1) == ARGV[8] then
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
if ARGV[11] ~= '' then
  redis.call('HSET', KEYS[1], 'owner', ARGV[11])
end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[3], '*', 'event', ARGV[4], 'type', ARGV[5], 'traceparent', ARGV[6], 'eventId', ARGV[7])
if KEYS[4] then
  redis.call('SET', KEYS[4], ARGV[8] .. '\n' .. ARGV[9], 'EX', tonumber(ARGV[10]))
end
return {'created'}
