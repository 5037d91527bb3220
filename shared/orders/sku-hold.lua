-- Holds units of one SKU for one order, at most once per order: the per-SKU half of a reservation, in the SKU's
-- slot (a Redis Cluster cannot move several SKUs' stock in one script). The first decision sticks: a later call for
-- the same order returns it unchanged, so redeliveries and concurrent copies of a step all see the same answer.
-- KEYS[1] stock hash of the SKU (available, reserved), KEYS[2] the order's hold on it (stock-holds.lua)
-- ARGV[1] quantity, ARGV[2] now (ISO)
-- Returns {status, available when short}: held | short | released | committed
-- #include shared/orders/lua/stock-holds.lua
local stock, hold = KEYS[1], KEYS[2]
local existing = redis.call('HGET', hold, 'status')
if existing then
  return {existing, redis.call('HGET', hold, 'available') or ''}
end
local quantity = tonumber(ARGV[1])
local available = math.max(tonumber(redis.call('HGET', stock, 'available') or '0'), 0)
if available < quantity then
  setHold(hold, 'short', quantity, ARGV[2], available)
  return {'short', tostring(available)}
end
redis.call('HINCRBY', stock, 'available', -quantity)
redis.call('HINCRBY', stock, 'reserved', quantity)
setHold(hold, 'held', quantity, ARGV[2])
return {'held', ''}
