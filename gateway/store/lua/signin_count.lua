-- KEYS: a client's sign-in counter   ARGV: window (s)
-- Counts one sign-in attempt before its token is compared, so that concurrent attempts cannot
-- all pass a check made before any of them counted: the window's expiry is set by the attempt
-- that starts it (or on a counter found without one), with INCR and EXPIRE only (Redis 6.2 has
-- no EXPIRE ... NX). Returns the count, this attempt included.
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
