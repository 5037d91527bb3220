-- Releases a lease only if it is still ours: KEYS[1] lease key, ARGV[1] our token. Returns 1 if released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
