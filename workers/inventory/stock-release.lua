-- Gives an order's reserved units back exactly once (cancel); leaves a tombstone when nothing was reserved yet,
-- so an order.placed arriving after its order.cancelled reserves nothing.
-- KEYS[1] reservation hash of the order, KEYS[2..] stock hash per SKU of the order (any order)
-- ARGV[1..] the SKUs of KEYS[2..], ARGV[#] now (ISO)
-- Returns {outcome, status before}: released | tombstoned | unchanged
local status = redis.call('HGET', KEYS[1], 'status')
local now = ARGV[#ARGV]
if not status then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'detail', '[]', 'at', now)
  return {'tombstoned', ''}
end
if status ~= 'reserved' then
  return {'unchanged', status}
end
local lines = cjson.decode(redis.call('HGET', KEYS[1], 'detail'))
local held = {}
for _, line in ipairs(lines) do held[line.sku] = line.quantity end
for i = 2, #KEYS do
  local quantity = held[ARGV[i - 1]]
  if quantity then
    redis.call('HINCRBY', KEYS[i], 'reserved', -quantity)
    redis.call('HINCRBY', KEYS[i], 'available', quantity)
  end
end
redis.call('HSET', KEYS[1], 'status', 'released', 'at', now)
return {'released', status}
