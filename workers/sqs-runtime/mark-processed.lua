-- Writes the processed markers of several events at once: KEYS = marker keys; ARGV[1] = value, ARGV[2] = TTL (s).
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
end
return #KEYS
