-- KEYS: lock   ARGV: token, ttl_ms     Extends the lock while the token holds it; 1 if so.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
