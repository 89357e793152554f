-- The fence every flush write starts with. KEYS[1] is lease-owners, ARGV[1] the customer,
-- ARGV[2] the flush's token: a flush whose lease has moved to another token writes nothing
-- (the script answers -1) and stops.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return -1 end
