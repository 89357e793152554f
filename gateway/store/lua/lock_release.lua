-- KEYS: lock   ARGV: token     Drops the lock if the token still holds it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
