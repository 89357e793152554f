-- KEYS: replays, buffer, due, leases, dead, event keys...
-- ARGV: customer, now, batch JSON ('' sends the ids through the buffer), key, why, event ids...
-- Dead letters back in the queue, all or none: replays+1, status pending, the key and why. Each
-- must be a dead letter twice over, its status and its place in `dead` (PURGE takes both away at
-- once): an id whose record a purge is deleting never gets back into a buffer.
for i = 6, #KEYS do
  if redis.call('HGET', KEYS[i], 'status') ~= 'dead' or not redis.call('ZSCORE', KEYS[5], ARGV[i])
    then return 0 end
end
for i = 6, #KEYS do
  local id = ARGV[i]
  redis.call('HINCRBY', KEYS[i], 'replays', 1)
  redis.call('HSET', KEYS[i], 'status', 'pending')   -- its failed attempts still count
  ev_set(KEYS[i], 'replay_key', ARGV[4])
  ev_set(KEYS[i], 'replay_reason', ARGV[5])
  for _, name in ipairs({'dead_reason', 'error', 'mega_status', 'mega_body', 'finished_at'}) do
    ev_drop(KEYS[i], name)
  end
  redis.call('ZREM', KEYS[5], id)
  if ARGV[3] == '' then redis.call('RPUSH', KEYS[2], id) end
end
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[3]) end
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('ZADD', KEYS[3], 'NX', tonumber(ARGV[2]), ARGV[1])
end
return #KEYS - 5
