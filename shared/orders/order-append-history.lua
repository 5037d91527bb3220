-- Records something that happened to an order without changing its status (e.g. the customer was notified),
-- and appends any events to the outbox in the same step.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream
-- ARGV[1] history entry JSON (the current version is stamped in), ARGV[2] n events,
-- then per event 5 values: JSON, type, traceparent, event id, "1" to stamp orderversion
-- Returns {outcome, HGETALL of the order, history entries}; outcome applied|not_found
local function stamp(json, field, value)
  return string.sub(json, 1, -2) .. ',"' .. field .. '":' .. value .. '}'
end
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  return {'not_found', {}, {}}
end
redis.call('RPUSH', KEYS[2], stamp(ARGV[1], 'version', version))
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local base = 3 + i * 5
  local event = ARGV[base]
  if ARGV[base + 4] == '1' then event = stamp(event, 'orderversion', version) end
  redis.call('XADD', KEYS[3], '*', 'event', event, 'type', ARGV[base + 1], 'traceparent', ARGV[base + 2],
    'eventId', ARGV[base + 3])
end
return {'applied', redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
