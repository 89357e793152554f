-- KEYS: leases, owners   ARGV: customer, token, until_ms     Returns 1 while the token holds.
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]), ARGV[1])
return 1
