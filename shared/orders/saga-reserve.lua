-- Saga step of the inventory worker for order.placed, in one script: reserve every line and move the order to
-- INVENTORY_RESERVED with inventory.reserved, or record the rejection and move it to REJECTED with
-- inventory.rejected; on a cancelled order, make sure nothing is (or will be) held. No state in between.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream, KEYS[4] reservation hash,
-- KEYS[5..] stock hash per SKU
-- ARGV[1] n SKUs, then per SKU: sku, quantity (distinct, in the order of KEYS[5..]); then from a = 2n + 2:
-- ARGV[a] now, ARGV[a+1] reserved history JSON, ARGV[a+2..a+6] inventory.reserved event (5 values),
-- ARGV[a+7] rejected history JSON, ARGV[a+8..a+12] inventory.rejected event (both with the fill "missing"),
-- ARGV[a+13] STOCK_RELEASED history JSON
-- Returns {outcome, detail}: reserved (lines JSON) | rejected (missing JSON) | cancelled (release outcome) |
-- settled (the order's status: past reservation) | not_found
-- #include shared/orders/lua/order-move.lua
-- #include shared/orders/lua/stock-moves.lua
-- #include shared/orders/lua/fill.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local reservation = KEYS[4]
local n = tonumber(ARGV[1])
local a = 2 * n + 2
local now = ARGV[a]

local status = redis.call('HGET', keys.order, 'status')
if not status then return {'not_found', ''} end
local lines, stockKeys = {}, {}
for i = 1, n do
  local sku = ARGV[2 * i]
  lines[i] = {sku = sku, quantity = tonumber(ARGV[2 * i + 1]), key = KEYS[4 + i]}
  stockKeys[sku] = KEYS[4 + i]
end

if status == 'CANCELLED' then
  local outcome = releaseStock(reservation, stockKeys, now)
  if outcome == 'released' then noteOrder(keys, ARGV[a + 13], {}) end
  return {'cancelled', outcome}
end
if status ~= 'ACKNOWLEDGED' then return {'settled', status} end

-- An earlier reservation of this order (a crash of the former two-call step) is taken as it is.
local outcome, detail = reserveStock(reservation, lines, now)
if outcome == 'reserved' then
  moveOrder(keys, 'INVENTORY_RESERVED', ARGV[a + 1], now, readEvents(a + 2, 1))
  return {'reserved', detail}
end
if outcome == 'rejected' then
  local event = readEvents(a + 8, 1)
  event[1].json = fill(event[1].json, 'missing', detail)
  moveOrder(keys, 'REJECTED', fill(ARGV[a + 7], 'missing', detail), now, event)
  return {'rejected', detail}
end
return {'settled', outcome}
