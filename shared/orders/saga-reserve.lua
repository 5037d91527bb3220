-- Saga step of the inventory worker for order.placed, its order side: the SKUs' holds were decided first, one script
-- per SKU in the SKU's slot (sku-hold.lua); this applies the decision to the order in one script: move it to
-- INVENTORY_RESERVED with inventory.reserved, or record the rejection and move it to REJECTED with
-- inventory.rejected. On a cancelled order nothing is applied (the caller releases the holds).
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream of the order's slot group, KEYS[4] reservation hash
-- ARGV[1] decision reserved | rejected, ARGV[2] detail JSON (lines | missing lines), ARGV[3] now,
-- ARGV[4] reserved history JSON, ARGV[5..9] inventory.reserved event (5 values), ARGV[10] rejected history JSON,
-- ARGV[11..15] inventory.rejected event (both with the fill "missing"), ARGV[16] STOCK_RELEASED history JSON
-- Returns {outcome, detail}: reserved (lines JSON) | rejected (missing JSON) | cancelled (release outcome) |
-- settled (the order's status: past reservation) | not_found
-- #include shared/orders/lua/order-move.lua
-- #include shared/orders/lua/reservation.lua
-- #include shared/orders/lua/fill.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local reservation = KEYS[4]
local decision, detail, now = ARGV[1], ARGV[2], ARGV[3]

local status = redis.call('HGET', keys.order, 'status')
if not status then return {'not_found', ''} end
if status == 'CANCELLED' then
  return {'cancelled', releaseReservation(keys, reservation, ARGV[16], now)}
end
if status ~= 'ACKNOWLEDGED' then return {'settled', status} end
local decided = redis.call('HGET', reservation, 'status')
if decided then return {'settled', decided} end

redis.call('HSET', reservation, 'status', decision, 'detail', detail, 'at', now)
if decision == 'reserved' then
  moveOrder(keys, 'INVENTORY_RESERVED', ARGV[4], now, readEvents(5, 1))
  return {'reserved', detail}
end
local event = readEvents(11, 1)
event[1].json = fill(event[1].json, 'missing', detail)
moveOrder(keys, 'REJECTED', fill(ARGV[10], 'missing', detail), now, event)
return {'rejected', detail}
