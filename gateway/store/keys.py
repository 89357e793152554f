"""Every Redis key leadgate uses, and every Lua script. One prefix, one style: prefix:kind[:name].

Operators' scripts rely on these names; tests pin them. The records' fields, typed:
gateway/domain/event.py (Event) and gateway/domain/records.py (CustomerState, Batch, SentRequest).

    {p}:event:{event_id}    hash   one accepted event: status, lead, outcome..., its last MEGA
                                   calls (`log`); kept compact (listpack): a value over 64 bytes
                                   is stored as 64-byte chunks (EVENT_FIELDS below); deleted
                                   when it compacts to a tombstone
    {p}:compact             zset   event id -> when it became terminal (ms): to be compacted
    {p}:tombstones          zset   day -> day: the days (ms // 86,400,000) whose tombstone
                                   buckets may exist (the dedup check reads only those)
    {p}:tombstones:{day}:{xx}  hash  compacted events whose dedup TTL ends that day, by the
                                   first two hex digits of their id: packed id -> packed
                                   tombstone (records.TOMBSTONE_FIELDS; TOMBSTONE below); the
                                   bucket expires at the day's end
    {p}:buffer:{customer}   list   event ids waiting for a flush, in arrival order
    {p}:batch:{customer}    hash   the customer's frozen in-flight batch (ids, body, key)
    {p}:customer:{customer} hash   hold/pause state, rate-limit budget, counters
    {p}:due                 zset   customer -> when its next flush is due (ms)
    {p}:leases              zset   customer -> when the running flush's lease ends (ms)
    {p}:lease-owners        hash   customer -> token of the flush holding the lease
    {p}:dead                zset   event id -> when it became a dead letter (ms)
    {p}:metrics             hash   Prometheus counters and histogram buckets of all processes
    {p}:ack-mark            string  when an intake connection last wrote only to be sure that
                                   server.ack's WAIT covers a duplicate's earlier write (ms)
    {p}:parked:{customer}:{route}  list  event ids held while the route's credentials fail
    {p}:events              zset   event id -> when it was received (ms): the console's list
    {p}:contacts:{day}:{xx}  hash  contact search: the events received that day (ms //
                                   86,400,000), by HMAC digest of a normalized email or phone
                                   (never the contact itself): digest's hex digits 3-14 ->
                                   packed event ids; bucketed by the digest's first two hex
                                   digits; expires when its last event leaves the index.
                                   A field holds a contact's first events of the day (up to
                                   64 bytes: the bucket stays a listpack); field + "+" counts
                                   its events past defaults.CONTACT_DAY_LIMIT, not indexed
    {p}:contacts:{day}:{xx}:{rest}  string  the same contact's further events of the day,
                                   appended (packed ids, at most CONTACT_DAY_LIMIT in all);
                                   {rest}: the field above; expires with its bucket
    {p}:contact:{digest}    zset   event id -> received (ms): the same, for older records
    {p}:attempts:{event_id} list   the event's last MEGA calls (JSON): older records only (now
                                   the event's `log` field); deleted when the event compacts
    {p}:metrics:{size}s:{start}  hash  the counters of one time window (last hour / 24 h)
    {p}:signin-failures:{digest}  string  failed console sign-ins of one client (keyed hash of
                                   its address)
    {p}:console-session:{digest}  hash  one console sign-in (expiry, last search), by a digest
                                   of its random id; expires with it, deleted at sign-out
    {p}:replays:{customer}  list   replayed dead letters, each a JSON batch (frozen, or ids)
    {p}:request:{key}       hash   a sent request that ended in dead letters (endpoint, body,
                                   ids, key_since), kept while MEGA keeps its key, for replays
    {p}:reconcile:{route}   hash   a Meta route's reconciliation: watermarks, counts, backoff
    {p}:reconcile-lock:{route}  string  token of the worker reconciling the route (expires)
    {p}:source-health       hash   route -> JSON of its last source-health check
    {p}:google-match:{route}  zset  a Google route's webhook leads by submission time (s):
                                   "event id|form|gclid digest|contact digests" (never a
                                   contact), for reconciliation's matching
                                   (gateway/store/google_match.py)
    {p}:alerts:state        hash   alert kind:subject -> firing (absent: not firing)
    {p}:alerts:marks        hash   what the alert evaluator last saw (dead letter counts, times)
    {p}:alerts:pending      zset   alert delivery id -> when it is due (ms; a lease while sent)
    {p}:alert:{delivery_id} hash   one alert to one target: body, attempts
    {p}:imports             zset   import id -> when it started (ms)
    {p}:import:{id}         hash   one CSV import: customer, options, counts, status
    {p}:import:{id}:{part}  set/list  its rows' event ids (`ids`), keyed contact digests
                                   (`contacts`), ids not yet terminal (`pending`), failed rows
                                   as JSON {row, reason} (`errors`), unknown custom fields
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import defaults
from gateway.domain.records import SHORT_NAMES


@dataclass(frozen=True)
class Keys:
    prefix: str = defaults.KEY_PREFIX

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def buffer(self, customer: str) -> str:
        return f"{self.prefix}:buffer:{customer}"

    def batch(self, customer: str) -> str:
        return f"{self.prefix}:batch:{customer}"

    def customer(self, customer: str) -> str:
        return f"{self.prefix}:customer:{customer}"

    @property
    def due(self) -> str:
        return f"{self.prefix}:due"

    @property
    def leases(self) -> str:
        return f"{self.prefix}:leases"

    @property
    def owners(self) -> str:
        return f"{self.prefix}:lease-owners"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    def parked(self, customer: str, route: str) -> str:
        return f"{self.prefix}:parked:{customer}:{route}"

    def replays(self, customer: str) -> str:
        return f"{self.prefix}:replays:{customer}"

    def request(self, key: str) -> str:
        return f"{self.prefix}:request:{key}"

    @property
    def metrics(self) -> str:
        return f"{self.prefix}:metrics"

    @property
    def ack_mark(self) -> str:
        return f"{self.prefix}:ack-mark"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    def contact(self, digest: str) -> str:
        return f"{self.prefix}:contact:{digest}"

    def contacts(self, day: int, part: str) -> str:
        return f"{self.prefix}:contacts:{day}:{part}"

    def contacts_more(self, day: int, digest: str) -> str:
        return f"{self.contacts(day, digest[:2])}:{digest[2:14]}"

    @property
    def tombstones(self) -> str:
        return f"{self.prefix}:tombstones"

    def tombstone_bucket(self, day: int, part: str) -> str:
        return f"{self.tombstones}:{day}:{part}"

    @property
    def compact(self) -> str:
        return f"{self.prefix}:compact"

    def attempts(self, event_id: str) -> str:
        return f"{self.prefix}:attempts:{event_id}"

    def metrics_window(self, size_s: int, start: int) -> str:
        return f"{self.prefix}:metrics:{size_s}s:{start}"

    def history(self, kind: str, name: str, day: int) -> str:
        """One route's or customer's hourly counts for a UTC day (kind: route, customer), or
        the day's hours a process was alive in, with Redis's memory (kind: hours, name "")."""
        return f"{self.prefix}:history:{kind}:{day}" + (f":{name}" if name else "")

    def signin_failures(self, digest: str) -> str:
        return f"{self.prefix}:signin-failures:{digest}"

    def console_session(self, digest: str) -> str:
        return f"{self.prefix}:console-session:{digest}"

    def reconcile(self, route: str) -> str:
        return f"{self.prefix}:reconcile:{route}"

    def reconcile_lock(self, route: str) -> str:
        return f"{self.prefix}:reconcile-lock:{route}"

    def google_match(self, route: str) -> str:
        return f"{self.prefix}:google-match:{route}"

    @property
    def source_health(self) -> str:
        return f"{self.prefix}:source-health"

    @property
    def alert_state(self) -> str:
        return f"{self.prefix}:alerts:state"

    @property
    def alert_marks(self) -> str:
        return f"{self.prefix}:alerts:marks"

    @property
    def alerts_pending(self) -> str:
        return f"{self.prefix}:alerts:pending"

    def alert(self, delivery_id: str) -> str:
        return f"{self.prefix}:alert:{delivery_id}"

    @property
    def imports(self) -> str:
        return f"{self.prefix}:imports"

    def import_(self, import_id: str, part: str = "") -> str:
        return f"{self.prefix}:import:{import_id}" + (f":{part}" if part else "")

# Lua helpers for event fields. A hash stays a compact listpack only while every value is at
# most 64 bytes (hash-max-listpack-value; hash-max-ziplist-value on Redis 6.2): a longer value
# (the lead's JSON) is stored as a marker "\0<n>" under its name and n chunks `name~1`..`name~n`.
# A name in records.SHORT_NAMES is stored short (one read under its long name, as an older
# record has it, still works); the id is not stored (it is the key's).
# ev_args adds a field to an HSET argument list; ev_drop deletes a field and its chunks; ev_set
# replaces one; ev_get reads one whole (ev_joined: from any getter, e.g. a table of HGETALL).
EVENT_FIELDS = """
local EV_NAMES = {""" + ", ".join(f"{name} = '{short}'" for name, short in SHORT_NAMES.items()) \
    + """}
local function ev_args(args, name, value)
  if name == 'id' then return args end
  name = EV_NAMES[name] or name
  value = tostring(value)
  if #value <= 64 and string.byte(value, 1) ~= 0 then
    args[#args + 1] = name; args[#args + 1] = value
    return args
  end
  local n = math.ceil(#value / 64)
  args[#args + 1] = name; args[#args + 1] = '\\0' .. n
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
    for old in string.gmatch(ev_get(key, 'log') or '', '[^\\n]+') do lines[#lines + 1] = old end
    lines[#lines + 1] = line
    keep = tonumber(keep)
    ev_set(key, 'log', table.concat(lines, '\\n', math.max(1, #lines - keep + 1), #lines))
  end
end
"""


# Lua helpers for the shared buckets: tombstones and contact search hold no key per event.
# An event id "evt_<32 hex>" is packed as its 16 bytes (any other id as itself) under the
# bucket of its first two hex digits; in a list of ids, each is "\0" + its 16 bytes, or its
# length in one byte + itself (records.unpack_ids). ts_find looks an id up in the tombstone
# buckets of the days the registry lists from today on (ts_days).
# contact_add costs the same whatever the contact's history: its first events of a day go to
# its field in the day's bucket (up to 64 bytes, a repeat skipped), the next ones are appended
# to its own string (a repeat is dropped when read), up to index.cap bytes in all; past that
# an event is only counted (field .. '+', and the index.left_out counter in index.metrics).
BUCKETS = """
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
  if bin then return '\\0' .. packed end
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
"""

# A tombstone packed in one value of at most 64 bytes for short names (records.tombstone
# reads it): the MEGA lead id ("\1" + 16 bytes when a UUID, else its text), then, joined by
# "\31": status and outcome (one letter when a usual one), customer, route, source,
# received_at, then finished_at and compacted as deltas (times in base 36), and last the
# provider id (empty when leadgate derived it from the body: the event id stands for it).
TOMBSTONE = """
local CODES = {delivered = 'd', test = 't', created = 'c', updated = 'u', skipped = 's'}
local HEX = '[0-9a-f]'
local UUID = '^' .. string.rep(HEX, 8) .. '%-' .. string.rep(HEX, 4) .. '%-' ..
  string.rep(HEX, 4) .. '%-' .. string.rep(HEX, 4) .. '%-' .. string.rep(HEX, 12) .. '$'
local function b36(n)
  n = tonumber(n)
  if not n then return '' end
  n = math.floor(n)
  local sign, s = '', ''
  if n < 0 then sign, n = '-', -n end
  repeat
    local d = n % 36
    s = string.sub('0123456789abcdefghijklmnopqrstuvwxyz', d + 1, d + 1) .. s
    n = math.floor(n / 36)
  until n == 0
  return sign .. s
end
local function ts_pack(get, now)
  local lead = get('lead_id') or ''
  if string.match(lead, UUID) then lead = '\\1' .. hex_bytes(string.gsub(lead, '-', '')) end
  local received, finished = tonumber(get('received_at')), tonumber(get('finished_at'))
  local provider = get('provider_id') or ''
  if string.sub(provider, 1, 7) == 'sha256:' then provider = '' end
  local status, outcome = get('status') or '', get('outcome') or ''
  return lead .. '\\31' .. table.concat({CODES[status] or status, CODES[outcome] or outcome,
    get('customer') or '', get('route') or '', get('source') or '', b36(received),
    finished and received and b36(finished - received) or '',
    b36(now - (finished or received or now)), provider}, '\\31')
end
"""

# KEYS: buffer, due, leases, customer, compact, event keys...
# ARGV: customer, now, linger, max_batch, ttl_s, then one JSON record per event key (flat
# string fields, 'id' and 'status' among them).
# New events are stored; pending ones are queued and a flush is scheduled: after the linger, or
# at once when a full batch waits, never later than already scheduled (a wake-up for held
# leads does not delay new ones), and never inside a hold (429 pause, refused credentials).
# Returns 1 per new event, 0 per duplicate (stored, or compacted: a tombstone). A test event is
# terminal at once: queued to compact. After the records: the tombstone registry's key; then the
# console's index (optional, gateway/store/index.py): JSON {events: key, keep_ms, ttl_s, cap,
# metrics, left_out}; a record's '_index' lists its contact entries [bucket key, field, TTL
# (s)] (HMAC digests).
INGEST = EVENT_FIELDS + BUCKETS + """
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
"""

# KEYS: due, leases, owners   ARGV: now, lease_ms, limit, token
# Expired leases (a flush that died) become due again; then due customers are leased.
CLAIM = """
local now = tonumber(ARGV[1])
for _, c in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], c)
  redis.call('HDEL', KEYS[3], c)
  redis.call('ZADD', KEYS[1], now, c)
end
local ready = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, c in ipairs(ready) do
  redis.call('ZREM', KEYS[1], c)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), c)
  redis.call('HSET', KEYS[3], c, ARGV[4])
end
return ready
"""

# KEYS: leases, owners   ARGV: customer, token, until_ms     Returns 1 while the token holds.
RENEW = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[3]), ARGV[1])
return 1
"""

# The fence every flush write starts with. KEYS[1] is lease-owners, ARGV[1] the customer,
# ARGV[2] the flush's token: a flush whose lease has moved to another token writes nothing
# (the script answers -1) and stops.
FENCE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return -1 end
"""

# KEYS: owners, due, leases, buffer, batch, customer, replays
# ARGV: customer, token, now, linger_ms, max_batch, hold_until, wake_at
# Hands the customer back and schedules its next flush if anything waits (or, with nothing
# waiting, at wake_at when held leads are to be retried then).
RELEASE = FENCE + """
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
local now, hold = tonumber(ARGV[3]), tonumber(ARGV[6])
redis.call('HSET', KEYS[6], 'hold_until', ARGV[6])
local waiting = redis.call('LLEN', KEYS[4])
local frozen = redis.call('EXISTS', KEYS[5])
if redis.call('LLEN', KEYS[7]) > 0 then frozen = 1 end
if waiting > 0 or frozen == 1 then
  local at = now + tonumber(ARGV[4])
  if frozen == 1 or waiting >= tonumber(ARGV[5]) then at = now end
  if hold > at then at = hold end
  redis.call('ZADD', KEYS[2], at, ARGV[1])
elseif tonumber(ARGV[7]) > 0 then
  redis.call('ZADD', KEYS[2], math.max(tonumber(ARGV[7]), hold), ARGV[1])
end
return 1
"""

# KEYS: owners, parked, buffer, customer   ARGV: customer, token, event key prefix, route
# A held route's events back to the front of the buffer, in their order, pending again.
UNPARK = FENCE + """
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #ids, 1, -1 do
  redis.call('LPUSH', KEYS[3], ids[i])
  redis.call('HSET', ARGV[3] .. ids[i], 'status', 'pending')
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[4], 'parked:' .. ARGV[4], 'parked_reason:' .. ARGV[4])
return #ids
"""

# KEYS: owners, buffer, batch, replays   ARGV: customer, token, n, now, event key prefix
# The batch in flight if one exists (a resumed flush), else the next replayed batch, else up
# to n ids from the buffer.
TAKE = FENCE + """
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
"""

# KEYS: owners, then the keys the writes touch   ARGV: customer, token, writes as JSON
# A flush's writes, all or none, while its lease holds: [[command, key index, args...], ...].
# EVSET sets an event's fields (name, value, ...) as EVENT_FIELDS stores them; EVLOG adds a line
# to an event's timeline (line, how many to keep), as ATTEMPT_LOG does.
# Returns each command's answer.
WRITE = FENCE + EVENT_FIELDS + """
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
"""

# KEYS: replays, buffer, due, leases, dead, event keys...
# ARGV: customer, now, batch JSON ('' sends the ids through the buffer), key, why, event ids...
# Dead letters back in the queue, all or none: replays+1, status pending, the key and why. Each
# must be a dead letter twice over, its status and its place in `dead` (PURGE takes both away at
# once): an id whose record a purge is deleting never gets back into a buffer.
REPLAY = EVENT_FIELDS + """
for i = 6, #KEYS do
  if redis.call('HGET', KEYS[i], 'status') ~= 'dead' or not redis.call('ZSCORE', KEYS[5], ARGV[i])
    then return 0 end
end
for i = 6, #KEYS do
  local id = ARGV[i]
  redis.call('HINCRBY', KEYS[i], 'replays', 1)
  redis.call('HSET', KEYS[i], 'status', 'pending')   -- its failed attempts still count
  ev_set(KEYS[i], 'replay_key', ARGV[4])
  ev_set(KEYS[i], 'replay_reason', ARGV[5])
  for _, name in ipairs({'dead_reason', 'error', 'mega_status', 'mega_body', 'finished_at'}) do
    ev_drop(KEYS[i], name)
  end
  redis.call('ZREM', KEYS[5], id)
  if ARGV[3] == '' then redis.call('RPUSH', KEYS[2], id) end
end
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[3]) end
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('ZADD', KEYS[3], 'NX', tonumber(ARGV[2]), ARGV[1])
end
return #KEYS - 5
"""

# KEYS: dead, event key, old attempts key   ARGV: event id
# Deletes a dead letter for good, in one step: only while it is in `dead` and its status says
# dead (a replay that got there first has taken it out of both). Returns 1 if it went.
PURGE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('HGET', KEYS[2], 'status') ~= 'dead'
  then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
"""

# KEYS: lock   ARGV: token, ttl_ms     Extends the lock while the token holds it; 1 if so.
LOCK_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

# KEYS: lock   ARGV: token     Drops the lock if the token still holds it.
LOCK_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

# KEYS: lock, hash   ARGV: token, then field/value pairs
# Writes a route's reconciliation state only while the token holds the route's lock (a fence:
# a reconciler that lost its lock moves no watermark).
LOCKED_HSET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: a client's sign-in counter   ARGV: window (s)
# Counts one sign-in attempt before its token is compared, so that concurrent attempts cannot
# all pass a check made before any of them counted: the window's expiry is set by the attempt
# that starts it (or on a counter found without one), with INCR and EXPIRE only (Redis 6.2 has
# no EXPIRE ... NX). Returns the count, this attempt included.
SIGNIN_COUNT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# KEYS: console session   ARGV: field, value
# Writes a field of a live session only: one revoked meanwhile is not brought back.
SESSION_SET = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# KEYS: alert state, pending, then one alert key per target
# ARGV: field, new state ('firing' or 'resolved'), now, then per target: delivery id, body
# Compare-and-set across all workers: only the call that changes the state queues the alert
# (one delivery per target). A 'resolved' for a state never fired is no change.
ALERT_TRANSITION = """
local was = redis.call('HGET', KEYS[1], ARGV[1]) or 'resolved'
if was == ARGV[2] then return 0 end
if ARGV[2] == 'firing' then
  redis.call('HSET', KEYS[1], ARGV[1], 'firing')
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
for i = 3, #KEYS do
  local id, body = ARGV[2 + 2 * (i - 2)], ARGV[3 + 2 * (i - 2)]
  redis.call('HSET', KEYS[i], 'body', body, 'attempts', '0', 'created', ARGV[3])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), id)
end
return 1
"""

# KEYS: pending   ARGV: now, lease_ms, limit
# Due alert deliveries, each hidden for lease_ms while it is sent: one that is not confirmed
# in time (its sender died) is due again, for any worker.
ALERT_CLAIM = """
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id) end
return due
"""

# KEYS: import's ids set, contacts set   ARGV: per row: event id, contact digest, contact digest
# ('' where none). A row is new (0) unless an earlier row of the import had its id (1) or one of
# its contacts (2), as MEGA would match it; only new rows' ids and contacts are remembered.
IMPORT_ROWS = """
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
"""

# KEYS: import hash, pending set, errors list, unknown-fields set, tombstones
# ARGV: event key prefix, SSCAN cursor, count, now (ms)
# Counts the import's events that became terminal since the last look (each once: it leaves
# the pending set): delivered by outcome, dead letters as failed rows with MEGA's reason. An
# event compacted before the look counts as its tombstone says (ts_status); only an event with
# neither record nor tombstone is `gone`. Returns {next cursor, how many are still pending}.
IMPORT_TALLY = EVENT_FIELDS + BUCKETS + """
local LONG = {d = 'delivered', t = 'test', c = 'created', u = 'updated', s = 'skipped'}
local function ts_status(v)       -- status and outcome of a packed tombstone (TOMBSTONE)
  local rest
  if string.byte(v, 1) == 1 and #v >= 18 then rest = string.sub(v, 19)
  else rest = string.sub(v, (string.find(v, '\\31', 1, true) or #v) + 1) end
  local status, outcome = string.match(rest, '^([^\\31]*)\\31?([^\\31]*)')
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
"""

# KEYS: event keys   ARGV: one attempt as a JSON line, how many lines to keep
# Notes a MEGA call (or a replay) on each event's timeline, its `log` field: JSON lines, the last
# few kept. A compacted or expired event gets none.
ATTEMPT_LOG = EVENT_FIELDS + """
for _, key in ipairs(KEYS) do ev_log(key, ARGV[1], ARGV[2]) end
return #KEYS
"""

# KEYS: compact, tombstones
# ARGV: cutoff (ms), limit, event key prefix, old attempts key prefix, now, dedup TTL (ms: for
# a record without a TTL)
# Leads terminal since before the cutoff shrink to a tombstone (TOMBSTONE) in the bucket of
# the day their record would have expired (the dedup key's TTL), and their record goes. Only
# delivered and test events: a dead letter or held lead is left whole; one already compacted
# or gone just leaves the queue, so two workers compacting at once do no harm. A record
# compacted in place by an older version stays as it is. Returns how many ids it took.
COMPACT = EVENT_FIELDS + BUCKETS + TOMBSTONE + """
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
"""

# KEYS: tombstones   ARGV: now, event ids...    Each id's packed tombstone, or nil.
TOMBSTONE_READ = BUCKETS + """
local days = ts_days(KEYS[1], tonumber(ARGV[1]))
local out = {}
for i = 2, #ARGV do out[i - 1] = ts_find(KEYS[1], days, ARGV[i]) end
return out
"""

# KEYS: contact buckets   ARGV: the index (JSON, as INGEST's), per bucket key the field, TTL
# (s), event id. Index leads whose contact was learnt after the intake (Meta's, once fetched).
CONTACT_ADD = BUCKETS + """
local index = cjson.decode(ARGV[1])
for i = 1, #KEYS do
  contact_add(KEYS[i], ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1], index)
end
return #KEYS
"""
