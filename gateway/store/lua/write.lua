-- KEYS: owners, then the keys the writes touch   ARGV: customer, token, writes as JSON
-- A flush's writes, all or none, while its lease holds: [[command, key index, args...], ...].
-- EVSET sets an event's fields (name, value, ...) as EVENT_FIELDS stores them; EVLOG adds a line
-- to an event's timeline (line, how many to keep), as ATTEMPT_LOG does.
-- Returns each command's answer.
local allowed = {HSET=1, HDEL=1, HINCRBY=1, ZADD=1, ZREM=1, EXPIRE=1, PEXPIRE=1, DEL=1,
                 RPUSH=1, LPUSH=1, EVSET=1, EVLOG=1}
local out = {}
for i, op in ipairs(cjson.decode(ARGV[3])) do
  if not allowed[op[1]] then return redis.error_reply('not a flush write: ' .. op[1]) end
  if op[1] == 'EVSET' then
    for j = 3, #op, 2 do ev_set(KEYS[op[2]], op[j], op[j + 1]) end
    out[i] = 1
  elseif op[1] == 'EVLOG' then
    ev_log(KEYS[op[2]], op[3], op[4])
    out[i] = 1
  else
    out[i] = redis.call(op[1], KEYS[op[2]], unpack(op, 3))
  end
end
return out
