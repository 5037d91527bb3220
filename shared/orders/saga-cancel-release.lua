-- Saga step of the inventory worker for order.cancelled, its order side, in one script: cancel the order if it still
-- can be and mark its reservation released (with a STOCK_RELEASED entry), or leave a tombstone when nothing was
-- reserved yet (so that a late reservation is not applied). The caller then gives the units back per SKU
-- (sku-release.lua, idempotent; a crash in between is completed by the redelivery).
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream of the order's slot group, KEYS[4] reservation hash
-- ARGV[1] now, ARGV[2] CANCELLED history JSON, ARGV[3] STOCK_RELEASED history JSON
-- Returns {outcome, release}: cancelled | not_cancelled (release: the order's status) | not_found; release is
-- released | tombstoned | unchanged
-- #include shared/orders/lua/order-move.lua
-- #include shared/orders/lua/reservation.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local reservation = KEYS[4]
local now = ARGV[1]

local status = redis.call('HGET', keys.order, 'status')
if not status then
  if redis.call('HSETNX', reservation, 'status', 'cancelled') == 1 then
    redis.call('HSET', reservation, 'detail', '[]', 'at', now)
    return {'not_found', 'tombstoned'}
  end
  return {'not_found', 'unchanged'}
end
if status == 'ACKNOWLEDGED' or status == 'INVENTORY_RESERVED' then
  moveOrder(keys, 'CANCELLED', ARGV[2], now, {})
  status = 'CANCELLED'
end
if status ~= 'CANCELLED' then return {'not_cancelled', status} end
return {'cancelled', releaseReservation(keys, reservation, ARGV[3], now)}
