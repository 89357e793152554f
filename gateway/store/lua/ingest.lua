-- KEYS: buffer, due, leases, customer, compact, event keys...
-- ARGV: customer, now, linger, max_batch, ttl_s, then one JSON record per event key (flat
-- string fields, 'id' and 'status' among them).
-- New events are stored; pending ones are queued and a flush is scheduled: after the linger, or
-- at once when a full batch waits, never later than already scheduled (a wake-up for held
-- leads does not delay new ones), and never inside a hold (429 pause, refused credentials).
-- Returns 1 per new event, 0 per duplicate (stored, or compacted: a tombstone). A test event is
-- terminal at once: queued to compact. After the records: the tombstone registry's key; then the
-- console's index (optional, gateway/store/index.py): JSON {events: key, keep_ms, ttl_s, cap,
-- metrics, left_out}; a record's '_index' lists its contact entries [bucket key, field, TTL
-- (s)] (HMAC digests).
local added, queued = {}, 0
local now = tonumber(ARGV[2])
local tombs = ARGV[#KEYS + 1]
local index = ARGV[#KEYS + 2] and cjson.decode(ARGV[#KEYS + 2])
local days = ts_days(tombs, now)
for i = 6, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1
      or (#days > 0 and ts_find(tombs, days, string.match(KEYS[i], '[^:]*$'))) then
    added[#added + 1] = 0
  else
    local rec = cjson.decode(ARGV[i])
    local contacts = rec['_index'] or {}
    rec['_index'] = nil
    local flat = {}
    for k, v in pairs(rec) do ev_args(flat, k, v) end
    ev_hset(KEYS[i], flat)
    if index then
      local at = tonumber(rec['received_at'])
      redis.call('ZADD', index['events'], at, rec['id'])
      for _, c in ipairs(contacts) do contact_add(c[1], c[2], c[3], rec['id'], index) end
    end
    if rec['status'] == 'pending' then
      redis.call('RPUSH', KEYS[1], rec['id'])
      queued = queued + 1
    else
      redis.call('EXPIRE', KEYS[i], tonumber(ARGV[5]))
      redis.call('ZADD', KEYS[5], now, rec['id'])
    end
    added[#added + 1] = 1
  end
end
if index then redis.call('ZREMRANGEBYSCORE', index['events'], '-inf', now - index['keep_ms']) end
if queued > 0 and not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  local hold = tonumber(redis.call('HGET', KEYS[4], 'hold_until') or '0')
  if hold > now then
    redis.call('ZADD', KEYS[2], 'NX', math.max(hold, now + tonumber(ARGV[3])), ARGV[1])
  elseif redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[2], 'LT', now, ARGV[1])
  else
    redis.call('ZADD', KEYS[2], 'LT', now + tonumber(ARGV[3]), ARGV[1])
  end
end
return added
