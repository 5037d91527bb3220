-- #include shared/orders/lua/stamp.lua
-- The outbox stream entry, written here only: fields event (the CloudEvent JSON), type, traceparent, eventId
-- (shared/orders/outbox-entry.ts is the TypeScript side: the arguments and the relay's reading of an entry).

-- The events a script was given in ARGV from `base`: n × 5 values (JSON, type, traceparent, event id, "1" to
-- stamp the order version into the JSON as `orderversion`).
local function readEvents(base, n)
  local events = {}
  for i = 0, n - 1 do
    local at = base + i * 5
    events[#events + 1] = {json = ARGV[at], type = ARGV[at + 1], traceparent = ARGV[at + 2], id = ARGV[at + 3],
      stampVersion = ARGV[at + 4] == '1'}
  end
  return events
end

-- Appends the events to the outbox stream; `version` is stamped into those that asked for it. Returns entry ids.
local function appendEvents(outbox, events, version)
  local ids = {}
  for _, event in ipairs(events) do
    local json = event.json
    if event.stampVersion then json = stamp(json, 'orderversion', version) end
    ids[#ids + 1] = redis.call('XADD', outbox, '*', 'event', json, 'type', event.type,
      'traceparent', event.traceparent, 'eventId', event.id)
  end
  return ids
end
