-- KEYS: compact, tombstones
-- ARGV: cutoff (ms), limit, event key prefix, old attempts key prefix, now, dedup TTL (ms: for
-- a record without a TTL)
-- Leads terminal since before the cutoff shrink to a tombstone (TOMBSTONE) in the bucket of
-- the day their record would have expired (the dedup key's TTL), and their record goes. Only
-- delivered and test events: a dead letter or held lead is left whole; one already compacted
-- or gone just leaves the queue, so two workers compacting at once do no harm. A record
-- compacted in place by an older version stays as it is. Returns how many ids it took.
local now = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', math.floor(now / DAY_MS) - 1)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local raw, rec = redis.call('HGETALL', key), {}
  for i = 1, #raw, 2 do rec[raw[i]] = raw[i + 1] end
  if (rec['status'] == 'delivered' or rec['status'] == 'test') and not rec['compacted'] then
    local ttl = redis.call('PTTL', key)
    if ttl <= 0 then ttl = tonumber(ARGV[6]) end
    local day = math.floor((now + ttl) / DAY_MS)
    local field, part = packed_id(id)
    local bucket = KEYS[2] .. ':' .. day .. ':' .. part
    redis.call('HSET', bucket, field, ts_pack(function(n) return ev_joined(
      function(m) return rec[m] end, n) end, now))
    redis.call('PEXPIRE', bucket, (day + 1) * DAY_MS - now)
    redis.call('ZADD', KEYS[2], day, day)
    redis.call('DEL', key)
  end
  redis.call('DEL', ARGV[4] .. id)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
