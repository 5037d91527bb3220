-- Records something that happened to an order without changing its status (e.g. the customer was notified),
-- and appends any events to the outbox in the same step.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream
-- ARGV[1] history entry JSON (the current version is stamped in), ARGV[2] n events,
-- then 5 values per event (see outbox-events.lua)
-- Returns {outcome, HGETALL of the order, history entries}; outcome applied|not_found
-- #include shared/orders/lua/order-move.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
if not redis.call('HGET', keys.order, 'version') then
  return {'not_found', {}, {}}
end
noteOrder(keys, ARGV[1], readEvents(3, tonumber(ARGV[2])))
return {'applied', redis.call('HGETALL', keys.order), redis.call('LRANGE', keys.history, 0, -1)}
