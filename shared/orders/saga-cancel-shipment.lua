-- Saga step of the shipment worker for order.cancelled, in one script: cancel the order if it still can be and
-- stop its shipment unless it shipped (with a SHIPMENT_STOPPED entry), or leave a tombstone so none is created.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream, KEYS[4] shipment hash
-- ARGV[1] now, ARGV[2] CANCELLED history JSON, ARGV[3] SHIPMENT_STOPPED history JSON
-- Returns {outcome, shipment status before}: stopped | shipped (too late: left as it is)
-- #include shared/orders/lua/order-move.lua
-- #include shared/orders/lua/shipment-moves.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local shipment = KEYS[4]
local now = ARGV[1]

local status = redis.call('HGET', keys.order, 'status')
if status == 'ACKNOWLEDGED' or status == 'INVENTORY_RESERVED' then
  moveOrder(keys, 'CANCELLED', ARGV[2], now, {})
  status = 'CANCELLED'
end
if status == 'SHIPPED' then return {'shipped', 'shipped'} end
local before = stopShipment(shipment, now)
-- A stop whose entry the former three-call step never wrote gets it now.
local stoppedBefore = before == 'cancelled' and redis.call('HEXISTS', shipment, 'shipmentId') == 1
  and not historyHasStage(keys, 'SHIPMENT_STOPPED')
if status and (before == 'created' or stoppedBefore) then noteOrder(keys, ARGV[3], {}) end
return {'stopped', before}
