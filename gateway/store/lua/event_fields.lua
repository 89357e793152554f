-- Lua helpers for event fields. A hash stays a compact listpack only while every value is at
-- most 64 bytes (hash-max-listpack-value; hash-max-ziplist-value on Redis 6.2): a longer value
-- (the lead's JSON) is stored as a marker "\0<n>" under its name and n chunks `name~1`..`name~n`.
-- A name in records.SHORT_NAMES is stored short (one read under its long name, as an older
-- record has it, still works); the id is not stored (it is the key's).
-- ev_args adds a field to an HSET argument list; ev_drop deletes a field and its chunks; ev_set
-- replaces one; ev_get reads one whole (ev_joined: from any getter, e.g. a table of HGETALL).
local function ev_args(args, name, value)
  if name == 'id' then return args end
  name = EV_NAMES[name] or name
  value = tostring(value)
  if #value <= 64 and string.byte(value, 1) ~= 0 then
    args[#args + 1] = name; args[#args + 1] = value
    return args
  end
  local n = math.ceil(#value / 64)
  args[#args + 1] = name; args[#args + 1] = '\0' .. n
  for i = 1, n do
    args[#args + 1] = name .. '~' .. i
    args[#args + 1] = string.sub(value, (i - 1) * 64 + 1, i * 64)
  end
  return args
end
local function ev_drop(key, name)
  local names = {EV_NAMES[name] or name, name}
  local olds = redis.call('HMGET', key, unpack(names))
  for j, n in ipairs(names) do
    local old = olds[j]
    if old and string.byte(old, 1) == 0 then
      for i = 1, tonumber(string.sub(old, 2)) do redis.call('HDEL', key, n .. '~' .. i) end
    end
    if old then redis.call('HDEL', key, n) end
  end
end
local function ev_hset(key, args)
  for i = 1, #args, 200 do redis.call('HSET', key, unpack(args, i, math.min(i + 199, #args))) end
end
local function ev_set(key, name, value)
  ev_drop(key, name)
  ev_hset(key, ev_args({}, name, value))
end
local function ev_joined(get, name)
  local v = get(EV_NAMES[name] or name)
  if v then name = EV_NAMES[name] or name else v = get(name) end
  if not v or string.byte(v, 1) ~= 0 then return v end
  local parts = {}
  for i = 1, tonumber(string.sub(v, 2)) do parts[i] = get(name .. '~' .. i) or '' end
  return table.concat(parts)
end
local function ev_get(key, name)
  return ev_joined(function(n) return redis.call('HGET', key, n) end, name)
end
local function ev_log(key, line, keep)  -- one line on an event's timeline, the last `keep` kept
  if redis.call('EXISTS', key) == 1 and not redis.call('HGET', key, 'compacted') then
    local lines = {}
    for old in string.gmatch(ev_get(key, 'log') or '', '[^\n]+') do lines[#lines + 1] = old end
    lines[#lines + 1] = line
    keep = tonumber(keep)
    ev_set(key, 'log', table.concat(lines, '\n', math.max(1, #lines - keep + 1), #lines))
  end
end
