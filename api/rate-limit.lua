-- Token bucket per principal: takes one token if there is one.
-- KEYS[1] bucket hash (tokens, ts)
-- ARGV[1] tokens added per second, ARGV[2] bucket size (burst)
-- Returns {allowed (1 or 0), ms until a token is available (0 when allowed), whole tokens left, ms until full}.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
-- A full bucket is the same as none: let idle principals' keys expire.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait, math.floor(tokens), math.ceil((burst - tokens) * 1000 / rate)}
