-- Saga step of the shipment worker for inventory.reserved, its order side, in one script: create the shipment as
-- shipped, move the order to SHIPPED with order.shipped and mark its reservation shipped; or, on a cancelled order,
-- stop the shipment. The caller then takes the held units out of stock per SKU (sku-commit.lua, idempotent; a crash
-- in between is completed by the redelivery, which finds the order SHIPPED).
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream of the order's slot group, KEYS[4] reservation
-- hash, KEYS[5] shipment hash
-- ARGV[1] now, ARGV[2] new shipment id, ARGV[3] carrier, ARGV[4] tracking number,
-- ARGV[5] SHIPPED history JSON, ARGV[6..10] order.shipped event (5 values; both with the fills shipmentId,
-- carrier, trackingNumber)
-- Returns {outcome, shipmentId, carrier, trackingNumber}: shipped | already_shipped | cancelled (shipment stopped)
-- | stopped (a cancel's tombstone: not shipping) | not_reserved | rejected | not_found
-- #include shared/orders/lua/order-move.lua
-- #include shared/orders/lua/shipment-moves.lua
-- #include shared/orders/lua/fill.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local reservation, shipment = KEYS[4], KEYS[5]
local now = ARGV[1]
local function reply(outcome)
  local s = redis.call('HMGET', shipment, 'shipmentId', 'carrier', 'trackingNumber')
  return {outcome, s[1] or '', s[2] or '', s[3] or ''}
end
local function shipReservation()
  if redis.call('HGET', reservation, 'status') == 'reserved' then
    redis.call('HSET', reservation, 'status', 'shipped', 'at', now)
  end
end

local status = redis.call('HGET', keys.order, 'status')
if not status then return {'not_found', '', '', ''} end
if status == 'CANCELLED' then
  stopShipment(shipment, now)
  return reply('cancelled')
end
if status == 'ACKNOWLEDGED' then return reply('not_reserved') end
if status == 'REJECTED' then return reply('rejected') end
local current = redis.call('HGET', shipment, 'status')
if status == 'SHIPPED' then
  if current == 'created' then redis.call('HSET', shipment, 'status', 'shipped', 'shippedAt', now) end
  shipReservation()
  return reply('already_shipped')
end
-- INVENTORY_RESERVED
if current == 'cancelled' then return reply('stopped') end
if not current then
  redis.call('HSET', shipment, 'shipmentId', ARGV[2], 'carrier', ARGV[3], 'trackingNumber', ARGV[4],
    'createdAt', now)
end
redis.call('HSET', shipment, 'status', 'shipped', 'shippedAt', now)
local s = redis.call('HMGET', shipment, 'shipmentId', 'carrier', 'trackingNumber')
local history, event = ARGV[5], readEvents(6, 1)
for i, field in ipairs({'shipmentId', 'carrier', 'trackingNumber'}) do
  history = fill(history, field, cjson.encode(s[i]))
  event[1].json = fill(event[1].json, field, cjson.encode(s[i]))
end
moveOrder(keys, 'SHIPPED', history, now, event)
shipReservation()
return {'shipped', s[1], s[2], s[3]}
