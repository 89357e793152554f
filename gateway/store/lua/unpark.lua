-- KEYS: owners, parked, buffer, customer   ARGV: customer, token, event key prefix, route
-- A held route's events back to the front of the buffer, in their order, pending again.
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #ids, 1, -1 do
  redis.call('LPUSH', KEYS[3], ids[i])
  redis.call('HSET', ARGV[3] .. ids[i], 'status', 'pending')
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[4], 'parked:' .. ARGV[4], 'parked_reason:' .. ARGV[4])
return #ids
