-- Reserves every line of an order or none, once per order: all-or-nothing and idempotent by order id.
-- KEYS[1] reservation hash of the order, KEYS[2..n+1] stock hash per SKU (fields `available`, `reserved`)
-- ARGV[1] n, then per line: sku, quantity (SKUs distinct, in the same order as KEYS); ARGV[2n+2] now (ISO)
-- Returns {status, detail JSON}: status reserved | rejected (detail: missing lines) | or the status an
-- earlier call left (reserved, rejected, released, cancelled, shipped) when the order was seen before.
local existing = redis.call('HGET', KEYS[1], 'status')
if existing then
  return {existing, redis.call('HGET', KEYS[1], 'detail') or '[]'}
end
local n = tonumber(ARGV[1])
local missing = {}
for i = 1, n do
  local sku = ARGV[2 * i]
  local wanted = tonumber(ARGV[2 * i + 1])
  local available = tonumber(redis.call('HGET', KEYS[i + 1], 'available') or '0')
  if available < wanted then
    table.insert(missing, {sku = sku, requested = wanted, available = math.max(available, 0)})
  end
end
local now = ARGV[2 * n + 2]
if #missing > 0 then
  local detail = cjson.encode(missing)
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'detail', detail, 'at', now)
  return {'rejected', detail}
end
local lines = {}
for i = 1, n do
  local wanted = tonumber(ARGV[2 * i + 1])
  redis.call('HINCRBY', KEYS[i + 1], 'available', -wanted)
  redis.call('HINCRBY', KEYS[i + 1], 'reserved', wanted)
  table.insert(lines, {sku = ARGV[2 * i], quantity = wanted})
end
local detail = cjson.encode(lines)
redis.call('HSET', KEYS[1], 'status', 'reserved', 'detail', detail, 'at', now)
return {'reserved', detail}
