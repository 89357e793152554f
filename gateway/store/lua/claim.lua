-- KEYS: due, leases, owners   ARGV: now, lease_ms, limit, token
-- Expired leases (a flush that died) become due again; then due customers are leased.
local now = tonumber(ARGV[1])
for _, c in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], c)
  redis.call('HDEL', KEYS[3], c)
  redis.call('ZADD', KEYS[1], now, c)
end
local ready = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, c in ipairs(ready) do
  redis.call('ZREM', KEYS[1], c)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), c)
  redis.call('HSET', KEYS[3], c, ARGV[4])
end
return ready
