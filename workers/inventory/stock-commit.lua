-- Takes an order's reserved units out of stock for good once it shipped, exactly once.
-- KEYS[1] reservation hash of the order, KEYS[2..] stock hash per SKU of the order
-- ARGV[1..] the SKUs of KEYS[2..], ARGV[#] now (ISO)
-- Returns {outcome, status before}: committed | unchanged
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'reserved' then
  return {'unchanged', status or ''}
end
local lines = cjson.decode(redis.call('HGET', KEYS[1], 'detail'))
local held = {}
for _, line in ipairs(lines) do held[line.sku] = line.quantity end
for i = 2, #KEYS do
  local quantity = held[ARGV[i - 1]]
  if quantity then redis.call('HINCRBY', KEYS[i], 'reserved', -quantity) end
end
redis.call('HSET', KEYS[1], 'status', 'shipped', 'at', ARGV[#ARGV])
return {'committed', status}
