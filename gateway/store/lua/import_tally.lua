-- KEYS: import hash, pending set, errors list, unknown-fields set, tombstones
-- ARGV: event key prefix, SSCAN cursor, count, now (ms)
-- Counts the import's events that became terminal since the last look (each once: it leaves
-- the pending set): delivered by outcome, dead letters as failed rows with MEGA's reason. An
-- event compacted before the look counts as its tombstone says (ts_status); only an event with
-- neither record nor tombstone is `gone`. Returns {next cursor, how many are still pending}.
local LONG = {d = 'delivered', t = 'test', c = 'created', u = 'updated', s = 'skipped'}
local function ts_status(v)       -- status and outcome of a packed tombstone (TOMBSTONE)
  local rest
  if string.byte(v, 1) == 1 and #v >= 18 then rest = string.sub(v, 19)
  else rest = string.sub(v, (string.find(v, '\31', 1, true) or #v) + 1) end
  local status, outcome = string.match(rest, '^([^\31]*)\31?([^\31]*)')
  return LONG[status] or status, (outcome ~= '' and (LONG[outcome] or outcome)) or false
end
local days = ts_days(KEYS[5], tonumber(ARGV[4]))
local scan = redis.call('SSCAN', KEYS[2], ARGV[2], 'COUNT', tonumber(ARGV[3]))
for _, id in ipairs(scan[2]) do
  local f = {}
  for j, name in ipairs({'status', 'outcome', 'import_row', 'error', 'ignored_custom_fields'}) do
    f[j] = ev_get(ARGV[1] .. id, name) or false
  end
  local tomb = not f[1] and #days > 0 and ts_find(KEYS[5], days, id)
  if tomb then f[1], f[2] = ts_status(tomb) end
  if f[1] == 'delivered' then
    redis.call('HINCRBY', KEYS[1], f[2] or 'created', 1)
    if f[5] and f[5] ~= '[]' then
      for _, name in ipairs(cjson.decode(f[5])) do redis.call('SADD', KEYS[4], name) end
    end
    redis.call('SREM', KEYS[2], id)
  elseif f[1] == 'dead' then
    redis.call('HINCRBY', KEYS[1], 'failed', 1)
    redis.call('RPUSH', KEYS[3], cjson.encode({row = tonumber(f[3]), reason = f[4] or 'failed'}))
    redis.call('SREM', KEYS[2], id)
  elseif not f[1] then
    redis.call('HINCRBY', KEYS[1], 'gone', 1)
    redis.call('SREM', KEYS[2], id)
  end
end
return {scan[1], redis.call('SCARD', KEYS[2])}
