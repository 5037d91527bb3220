-- Creates the one shipment of an order, or returns the one that exists (or the tombstone a cancel left).
-- KEYS[1] shipment hash of the order
-- ARGV[1] shipment id, ARGV[2] carrier, ARGV[3] tracking number, ARGV[4] now (ISO)
-- Returns {status, shipment id, carrier, tracking number}: status created | cancelled | shipped
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'status', 'created', 'shipmentId', ARGV[1], 'carrier', ARGV[2],
    'trackingNumber', ARGV[3], 'createdAt', ARGV[4])
end
return redis.call('HMGET', KEYS[1], 'status', 'shipmentId', 'carrier', 'trackingNumber')
