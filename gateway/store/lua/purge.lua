-- KEYS: dead, event key, old attempts key   ARGV: event id
-- Deletes a dead letter for good, in one step: only while it is in `dead` and its status says
-- dead (a replay that got there first has taken it out of both). Returns 1 if it went.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('HGET', KEYS[2], 'status') ~= 'dead'
  then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
