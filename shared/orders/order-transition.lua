-- Moves an order to a new status, guarded by the statuses it may come from and optionally its version:
-- status, version+1, a history entry and outbox events are written together or not at all.
-- KEYS[1] order hash, KEYS[2] history list, KEYS[3] outbox stream
-- ARGV[1] allowed from-statuses joined by ',', ARGV[2] new status, ARGV[3] expected version ("" = any),
-- ARGV[4] history entry JSON (the new version is stamped in), ARGV[5] updatedAt,
-- ARGV[6] n events, then 5 values per event (see outbox-events.lua)
-- Returns {outcome, HGETALL of the order, history entries}; outcome applied|not_found|wrong_state|stale_version
-- #include shared/orders/lua/order-move.lua
local keys = {order = KEYS[1], history = KEYS[2], outbox = KEYS[3]}
local function result(outcome)
  return {outcome, redis.call('HGETALL', keys.order), redis.call('LRANGE', keys.history, 0, -1)}
end

local status = redis.call('HGET', keys.order, 'status')
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
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= tonumber(redis.call('HGET', keys.order, 'version')) then
  return result('stale_version')
end
moveOrder(keys, ARGV[2], ARGV[4], ARGV[5], readEvents(7, tonumber(ARGV[6])))
return result('applied')
