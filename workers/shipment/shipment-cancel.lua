-- Stops an order's shipment unless it already shipped; with no shipment yet, leaves a tombstone so none is created.
-- KEYS[1] shipment hash of the order; ARGV[1] now (ISO)
-- Returns the status before: '' (none: tombstoned) | created (now cancelled) | cancelled | shipped
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelledAt', ARGV[1])
  return ''
end
if status == 'created' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelledAt', ARGV[1])
end
return status
