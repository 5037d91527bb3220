-- Appends CloudEvents to the outbox stream.
-- KEYS[1] outbox stream
-- ARGV: n, then per event 4 values: event JSON, type, traceparent ("" when none), event id
-- Returns the stream entry ids.
local n = tonumber(ARGV[1])
local ids = {}
for i = 0, n - 1 do
  local base = 2 + i * 4
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*',
    'event', ARGV[base], 'type', ARGV[base + 1], 'traceparent', ARGV[base + 2], 'eventId', ARGV[base + 3])
end
return ids
