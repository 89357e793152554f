-- KEYS: import's ids set, contacts set   ARGV: per row: event id, contact digest, contact digest
-- ('' where none). A row is new (0) unless an earlier row of the import had its id (1) or one of
-- its contacts (2), as MEGA would match it; only new rows' ids and contacts are remembered.
local out = {}
for i = 1, #ARGV, 3 do
  local a, b = ARGV[i + 1], ARGV[i + 2]
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    out[#out + 1] = 1
  elseif (a ~= '' and redis.call('SISMEMBER', KEYS[2], a) == 1)
      or (b ~= '' and redis.call('SISMEMBER', KEYS[2], b) == 1) then
    out[#out + 1] = 2
  else
    redis.call('SADD', KEYS[1], ARGV[i])
    if a ~= '' then redis.call('SADD', KEYS[2], a) end
    if b ~= '' then redis.call('SADD', KEYS[2], b) end
    out[#out + 1] = 0
  end
end
return out
