"""Every Redis key leadgate uses, and every Lua script. One prefix, one style: prefix:kind[:name].

Operators' scripts rely on these names; tests pin them.

    {p}:event:{event_id}    hash   one accepted event: status, lead, outcome...
    {p}:buffer:{customer}   list   event ids waiting for a flush, in arrival order
    {p}:batch:{customer}    hash   the customer's frozen in-flight batch (ids, body, key)
    {p}:customer:{customer} hash   hold/pause state, rate-limit budget, counters
    {p}:due                 zset   customer -> when its next flush is due (ms)
    {p}:leases              zset   customer -> when the running flush's lease ends (ms)
    {p}:lease-owners        hash   customer -> token of the flush holding the lease
    {p}:dead                zset   event id -> when it became a dead letter (ms)
    {p}:metrics             hash   Prometheus counters and histogram buckets of all processes
    {p}:parked:{customer}:{route}  list  event ids held while the route's credentials fail
    {p}:imports             zset   import id -> when it started (ms)
    {p}:import:{id}         hash   one CSV import: customer, options, counts, status
    {p}:import:{id}:{part}  set/list  its rows' event ids (`ids`), keyed contact digests
                                   (`contacts`), ids not yet terminal (`pending`), failed rows
                                   as JSON {row, reason} (`errors`), unknown custom fields
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import defaults


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

    @property
    def metrics(self) -> str:
        return f"{self.prefix}:metrics"

    @property
    def imports(self) -> str:
        return f"{self.prefix}:imports"

    def import_(self, import_id: str, part: str = "") -> str:
        return f"{self.prefix}:import:{import_id}" + (f":{part}" if part else "")


# KEYS: buffer, due, leases, customer, event keys...   ARGV: customer, now, linger, max_batch,
# ttl_s, then one JSON record per event key (flat string fields, 'id' and 'status' among them).
# New events are stored; pending ones are queued and a flush is scheduled: after the linger, or
# at once when a full batch waits, never later than already scheduled (a wake-up for held
# leads does not delay new ones), and never inside a hold (429 pause, refused credentials).
# Returns 1 per new event, 0 per duplicate.
INGEST = """
local added, queued = {}, 0
local now = tonumber(ARGV[2])
for i = 5, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    added[#added + 1] = 0
  else
    local rec = cjson.decode(ARGV[i + 1])
    local flat = {}
    for k, v in pairs(rec) do flat[#flat + 1] = k; flat[#flat + 1] = v end
    redis.call('HSET', KEYS[i], unpack(flat))
    if rec['status'] == 'pending' then
      redis.call('RPUSH', KEYS[1], rec['id'])
      queued = queued + 1
    else
      redis.call('EXPIRE', KEYS[i], tonumber(ARGV[5]))
    end
    added[#added + 1] = 1
  end
end
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

# KEYS: due, leases, owners, buffer, batch, customer
# ARGV: customer, token, now, linger_ms, max_batch, hold_until, wake_at
# Hands the customer back and schedules its next flush if anything waits (or, with nothing
# waiting, at wake_at when held leads are to be retried then).
RELEASE = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local now, hold = tonumber(ARGV[3]), tonumber(ARGV[6])
redis.call('HSET', KEYS[6], 'hold_until', ARGV[6])
local waiting = redis.call('LLEN', KEYS[4])
local frozen = redis.call('EXISTS', KEYS[5])
if waiting > 0 or frozen == 1 then
  local at = now + tonumber(ARGV[4])
  if frozen == 1 or waiting >= tonumber(ARGV[5]) then at = now end
  if hold > at then at = hold end
  redis.call('ZADD', KEYS[1], at, ARGV[1])
elseif tonumber(ARGV[7]) > 0 then
  redis.call('ZADD', KEYS[1], math.max(tonumber(ARGV[7]), hold), ARGV[1])
end
return 1
"""

# KEYS: parked, buffer   ARGV: event key prefix
# A held route's events back to the front of the buffer, in their order, pending again.
UNPARK = """
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for i = #ids, 1, -1 do
  redis.call('LPUSH', KEYS[2], ids[i])
  redis.call('HSET', ARGV[1] .. ids[i], 'status', 'pending')
end
redis.call('DEL', KEYS[1])
return #ids
"""

# KEYS: buffer, batch   ARGV: n, now, event key prefix
# The frozen batch if one exists (a resumed flush), else up to n ids from the buffer, frozen.
TAKE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  local ids = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
  if not ids then return {} end
  redis.call('HSET', KEYS[2], 'ids', table.concat(ids, ','), 'created', ARGV[2], 'attempts', '0')
  for _, id in ipairs(ids) do redis.call('HSET', ARGV[3] .. id, 'status', 'in_flight') end
end
return redis.call('HGETALL', KEYS[2])
"""

# KEYS: buffer, batch   ARGV: ids of the half to put back, in order
# A bulk 400: the batch keeps its first half (unfrozen, so it gets a new key), the rest goes
# back to the front of the buffer.
SPLIT = """
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'ids', ARGV[1], 'created', ARGV[2], 'attempts', '0')
for i = #ARGV, 3, -1 do redis.call('LPUSH', KEYS[1], ARGV[i]) end
return 1
"""

# KEYS: event, buffer, due, leases, dead   ARGV: event id, customer, now
# A dead letter back in the queue: replays+1 (so its idempotency key is new), status pending.
REPLAY = """
if redis.call('HGET', KEYS[1], 'status') ~= 'dead' then return 0 end
redis.call('HINCRBY', KEYS[1], 'replays', 1)
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', '0')
redis.call('HDEL', KEYS[1], 'dead_reason', 'error', 'mega_status', 'mega_body', 'finished_at')
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
if not redis.call('ZSCORE', KEYS[4], ARGV[2]) then
  redis.call('ZADD', KEYS[3], 'NX', tonumber(ARGV[3]), ARGV[2])
end
return 1
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

# KEYS: import hash, pending set, errors list, unknown-fields set
# ARGV: event key prefix, SSCAN cursor, count
# Counts the import's events that became terminal since the last look (each once: it leaves
# the pending set): delivered by outcome, dead letters as failed rows with MEGA's reason.
# Returns {next cursor, how many are still pending}.
IMPORT_TALLY = """
local scan = redis.call('SSCAN', KEYS[2], ARGV[2], 'COUNT', tonumber(ARGV[3]))
for _, id in ipairs(scan[2]) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'outcome', 'import_row', 'error',
                       'ignored_custom_fields')
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
