-- An order's one shipment (hash: status created | shipped | cancelled, shipmentId, carrier, trackingNumber, times).

-- Stops the shipment unless it shipped; with none yet, leaves a tombstone so that none is created.
-- Returns the status before: '' (none: tombstoned) | created (now cancelled) | cancelled | shipped.
local function stopShipment(shipmentKey, now)
  local status = redis.call('HGET', shipmentKey, 'status')
  if not status or status == 'created' then
    redis.call('HSET', shipmentKey, 'status', 'cancelled', 'cancelledAt', now)
  end
  return status or ''
end
