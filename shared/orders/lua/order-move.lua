-- #include shared/orders/lua/stamp.lua
-- #include shared/orders/lua/outbox-events.lua
-- An order's status change and its records: `keys` = {order = hash, history = list, outbox = stream}.

-- Moves the order to `to`: status, version + 1, updatedAt, a history entry with the new version stamped in, and
-- the events (those asking for it get the new version as `orderversion`). The caller checked where it comes from.
local function moveOrder(keys, to, historyJson, now, events)
  local next = tonumber(redis.call('HGET', keys.order, 'version')) + 1
  redis.call('HSET', keys.order, 'status', to, 'version', next, 'updatedAt', now)
  redis.call('RPUSH', keys.history, stamp(historyJson, 'version', next))
  appendEvents(keys.outbox, events, next)
  return next
end

-- Records a stage without a status change (e.g. STOCK_RELEASED): history entry and events at the current version.
local function noteOrder(keys, historyJson, events)
  local version = redis.call('HGET', keys.order, 'version')
  redis.call('RPUSH', keys.history, stamp(historyJson, 'version', version))
  appendEvents(keys.outbox, events, version)
end

-- Whether the order's history has an entry of this stage.
local function historyHasStage(keys, stage)
  local needle = '"stage":"' .. stage .. '"'
  for _, line in ipairs(redis.call('LRANGE', keys.history, 0, -1)) do
    if string.find(line, needle, 1, true) then return true end
  end
  return false
end
