-- Appends CloudEvents to the outbox stream (no order change).
-- KEYS[1] outbox stream
-- ARGV[1] n, then 5 values per event (see outbox-events.lua; the stamp flag is "0")
-- Returns the stream entry ids.
-- #include shared/orders/lua/outbox-events.lua
return appendEvents(KEYS[1], readEvents(2, tonumber(ARGV[1])), nil)
