-- KEYS: pending   ARGV: now, lease_ms, limit
-- Due alert deliveries, each hidden for lease_ms while it is sent: one that is not confirmed
-- in time (its sender died) is due again, for any worker.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id) end
return due
