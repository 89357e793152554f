-- KEYS: lock, hash   ARGV: token, then field/value pairs
-- Writes a route's reconciliation state only while the token holds the route's lock (a fence:
-- a reconciler that lost its lock moves no watermark).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
