-- Gives one SKU's units held for one order back, exactly once; with no hold yet, leaves a `released` tombstone so
-- that a later hold for this order takes nothing (a cancel or a rejection's compensation that came first).
-- KEYS[1] stock hash of the SKU, KEYS[2] the order's hold on it; ARGV[1] now (ISO)
-- Returns released | tombstoned | unchanged (short, committed or released before)
-- #include shared/orders/lua/stock-holds.lua
local stock, hold = KEYS[1], KEYS[2]
local status = redis.call('HGET', hold, 'status')
if not status then
  setHold(hold, 'released', 0, ARGV[1])
  return 'tombstoned'
end
if status ~= 'held' then return 'unchanged' end
local quantity = tonumber(redis.call('HGET', hold, 'quantity'))
redis.call('HINCRBY', stock, 'available', quantity)
redis.call('HINCRBY', stock, 'reserved', -quantity)
redis.call('HSET', hold, 'status', 'released', 'at', ARGV[1])
return 'released'
