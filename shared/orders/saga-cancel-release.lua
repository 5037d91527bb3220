-- Saga step of the inventory worker for order.cancelled, in one script: cancel the order if it still can be,
-- give its reserved units back exactly once with a STOCK_RELEASED entry, or leave a tombstone when nothing was
-- reserved yet (so a late order.placed reserves nothing).
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream, KEYS[4] reservation hash,
-- KEYS[5..] stock hash per SKU of the order
-- ARGV[1] now, ARGV[2] CANCELLED history JSON, ARGV[3] STOCK_RELEASED history JSON, ARGV[4..] the SKUs of KEYS[5..]
-- Returns {outcome, release}: cancelled | not_cancelled (release: the order's status) | not_found; release is
-- released | tombstoned | unchanged
-- #include shared/orders/lua/order-move.lua
-- #include shared/orders/lua/stock-moves.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local reservation = KEYS[4]
local now = ARGV[1]
local stockKeys = stockKeysBySku(5, 4, #KEYS - 4)

local status = redis.call('HGET', keys.order, 'status')
if not status then
  local outcome = releaseStock(reservation, stockKeys, now)
  return {'not_found', outcome}
end
if status == 'ACKNOWLEDGED' or status == 'INVENTORY_RESERVED' then
  moveOrder(keys, 'CANCELLED', ARGV[2], now, {})
  status = 'CANCELLED'
end
if status ~= 'CANCELLED' then return {'not_cancelled', status} end
local outcome, before = releaseStock(reservation, stockKeys, now)
-- A release whose entry the former three-call step never wrote gets it now.
if outcome == 'released' or (before == 'released' and not historyHasStage(keys, 'STOCK_RELEASED')) then
  noteOrder(keys, ARGV[3], {})
end
return {'cancelled', outcome}
