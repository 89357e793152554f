-- KEYS: owners, due, leases, buffer, batch, customer, replays
-- ARGV: customer, token, now, linger_ms, max_batch, hold_until, wake_at
-- Hands the customer back and schedules its next flush if anything waits (or, with nothing
-- waiting, at wake_at when held leads are to be retried then).
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
local now, hold = tonumber(ARGV[3]), tonumber(ARGV[6])
redis.call('HSET', KEYS[6], 'hold_until', ARGV[6])
local waiting = redis.call('LLEN', KEYS[4])
local frozen = redis.call('EXISTS', KEYS[5])
if redis.call('LLEN', KEYS[7]) > 0 then frozen = 1 end
if waiting > 0 or frozen == 1 then
  local at = now + tonumber(ARGV[4])
  if frozen == 1 or waiting >= tonumber(ARGV[5]) then at = now end
  if hold > at then at = hold end
  redis.call('ZADD', KEYS[2], at, ARGV[1])
elseif tonumber(ARGV[7]) > 0 then
  redis.call('ZADD', KEYS[2], math.max(tonumber(ARGV[7]), hold), ARGV[1])
end
return 1
