-- Takes one SKU's units held for one order out of stock for good once the order shipped, exactly once.
-- KEYS[1] stock hash of the SKU, KEYS[2] the order's hold on it; ARGV[1] now (ISO)
-- Returns committed | unchanged
local stock, hold = KEYS[1], KEYS[2]
if redis.call('HGET', hold, 'status') ~= 'held' then return 'unchanged' end
redis.call('HINCRBY', stock, 'reserved', -tonumber(redis.call('HGET', hold, 'quantity')))
redis.call('HSET', hold, 'status', 'committed', 'at', ARGV[1])
return 'committed'
