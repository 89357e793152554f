-- Lua helpers for the shared buckets: tombstones and contact search hold no key per event.
-- An event id "evt_<32 hex>" is packed as its 16 bytes (any other id as itself) under the
-- bucket of its first two hex digits; in a list of ids, each is "\0" + its 16 bytes, or its
-- length in one byte + itself (records.unpack_ids). ts_find looks an id up in the tombstone
-- buckets of the days the registry lists from today on (ts_days).
-- contact_add costs the same whatever the contact's history: its first events of a day go to
-- its field in the day's bucket (up to 64 bytes, a repeat skipped), the next ones are appended
-- to its own string (a repeat is dropped when read), up to index.cap bytes in all; past that
-- an event is only counted (field .. '+', and the index.left_out counter in index.metrics).
local DAY_MS = 86400000
local function hex_bytes(hex)      -- a hex string of a multiple of 8 digits as its bytes
  local out = {}
  for i = 1, #hex, 8 do
    local n = tonumber(string.sub(hex, i, i + 7), 16)
    out[#out + 1] = string.char(math.floor(n / 16777216), math.floor(n / 65536) % 256,
                                math.floor(n / 256) % 256, n % 256)
  end
  return table.concat(out)
end
local function packed_id(id)
  local hex = string.match(id, '^evt_([0-9a-f]+)$')
  if hex and #hex == 32 then return hex_bytes(hex), string.sub(hex, 1, 2), true end
  return id, '_', false
end
local function id_entry(id)
  local packed, _, bin = packed_id(id)
  if bin then return '\0' .. packed end
  return string.char(#id) .. id
end
local function ts_days(registry, now)
  return redis.call('ZRANGEBYSCORE', registry, math.floor(now / DAY_MS), '+inf')
end
local function ts_find(registry, days, id)
  local field, part = packed_id(id)
  for _, day in ipairs(days) do
    local v = redis.call('HGET', registry .. ':' .. day .. ':' .. part, field)
    if v then return v end
  end
  return false
end
local function contact_add(key, field, ttl, id, index)
  if tonumber(ttl) <= 0 then return end
  local entry = id_entry(id)
  local head = redis.call('HSTRLEN', key, field)
  if head + #entry <= 64 then
    local v = redis.call('HGET', key, field) or ''
    if not string.find(v, entry, 1, true) then redis.call('HSET', key, field, v .. entry) end
  else
    local more = key .. ':' .. field
    if head + redis.call('STRLEN', more) + #entry <= tonumber(index['cap']) then
      redis.call('APPEND', more, entry)
      redis.call('EXPIRE', more, ttl)
    else
      redis.call('HINCRBY', key, field .. '+', 1)
      redis.call('HINCRBYFLOAT', index['metrics'], index['left_out'], 1)
    end
  end
  redis.call('EXPIRE', key, ttl)
end
