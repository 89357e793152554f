-- KEYS: console session   ARGV: field, value
-- Writes a field of a live session only: one revoked meanwhile is not brought back.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
