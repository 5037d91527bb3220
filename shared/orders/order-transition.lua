-- Moves an order to a new status, guarded by the statuses it may come from and optionally its version:
-- status, version+1, a history entry and outbox events are written together or not at all.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream
-- ARGV[1] allowed from-statuses joined by ',', ARGV[2] new status, ARGV[3] expected version ("" = any),
-- ARGV[4] history entry JSON (the new version is stamped in), ARGV[5] updatedAt,
-- ARGV[6] n events, then per event 5 values: JSON, type, traceparent, event id, "1" to stamp orderversion
-- Returns {outcome, HGETALL of the order, history entries}; outcome applied|not_found|wrong_state|stale_version
local function stamp(json, field, value)
  return string.sub(json, 1, -2) .. ',"' .. field .. '":' .. value .. '}'
end
local function result(outcome)
  return {outcome, redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
end

local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {'not_found', {}, {}}
end
local allowed = false
for from in string.gmatch(ARGV[1], '[^,]+') do
  if from == status then allowed = true end
end
if not allowed then
  return result('wrong_state')
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version'))
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then
  return result('stale_version')
end
local next = version + 1
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'version', next, 'updatedAt', ARGV[5])
redis.call('RPUSH', KEYS[2], stamp(ARGV[4], 'version', next))
local n = tonumber(ARGV[6])
for i = 0, n - 1 do
  local base = 7 + i * 5
  local event = ARGV[base]
  if ARGV[base + 4] == '1' then event = stamp(event, 'orderversion', next) end
  redis.call('XADD', KEYS[3], '*', 'event', event, 'type', ARGV[base + 1], 'traceparent', ARGV[base + 2],
    'eventId', ARGV[base + 3])
end
return result('applied')
