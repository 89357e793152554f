-- KEYS: alert state, pending, then one alert key per target
-- ARGV: field, new state ('firing' or 'resolved'), now, then per target: delivery id, body
-- Compare-and-set across all workers: only the call that changes the state queues the alert
-- (one delivery per target). A 'resolved' for a state never fired is no change.
local was = redis.call('HGET', KEYS[1], ARGV[1]) or 'resolved'
if was == ARGV[2] then return 0 end
if ARGV[2] == 'firing' then
  redis.call('HSET', KEYS[1], ARGV[1], 'firing')
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
for i = 3, #KEYS do
  local id, body = ARGV[2 + 2 * (i - 2)], ARGV[3 + 2 * (i - 2)]
  redis.call('HSET', KEYS[i], 'body', body, 'attempts', '0', 'created', ARGV[3])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), id)
end
return 1
