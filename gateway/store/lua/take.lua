-- KEYS: owners, buffer, batch, replays   ARGV: customer, token, n, now, event key prefix
-- The batch in flight if one exists (a resumed flush), else the next replayed batch, else up
-- to n ids from the buffer.
if redis.call('EXISTS', KEYS[3]) == 0 then
  local ids = {}
  local entry = redis.call('LPOP', KEYS[4])
  if entry then
    local e = cjson.decode(entry)
    for id in string.gmatch(e['ids'], '[^,]+') do ids[#ids + 1] = id end
    redis.call('HSET', KEYS[3], 'ids', e['ids'], 'created', ARGV[4], 'attempts', '0',
               'endpoint', e['endpoint'], 'key', e['key'], 'body', e['body'],
               'key_since', e['key_since'], 'key_reason', e['key_reason'])
  else
    ids = redis.call('LPOP', KEYS[2], tonumber(ARGV[3]))
    if not ids then return {} end
    redis.call('HSET', KEYS[3], 'ids', table.concat(ids, ','), 'created', ARGV[4],
               'attempts', '0')
  end
  for _, id in ipairs(ids) do     -- an id without a record stays without (the flush drops it)
    if redis.call('EXISTS', ARGV[5] .. id) == 1 then
      redis.call('HSET', ARGV[5] .. id, 'status', 'in_flight')
    end
  end
end
return redis.call('HGETALL', KEYS[3])
