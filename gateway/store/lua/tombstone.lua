-- A tombstone packed in one value of at most 64 bytes for short names (records.tombstone
-- reads it): the MEGA lead id ("\1" + 16 bytes when a UUID, else its text), then, joined by
-- "\31": status and outcome (one letter when a usual one), customer, route, source,
-- received_at, then finished_at and compacted as deltas (times in base 36), and last the
-- provider id (empty when leadgate derived it from the body: the event id stands for it).
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
  if string.match(lead, UUID) then lead = '\1' .. hex_bytes(string.gsub(lead, '-', '')) end
  local received, finished = tonumber(get('received_at')), tonumber(get('finished_at'))
  local provider = get('provider_id') or ''
  if string.sub(provider, 1, 7) == 'sha256:' then provider = '' end
  local status, outcome = get('status') or '', get('outcome') or ''
  return lead .. '\31' .. table.concat({CODES[status] or status, CODES[outcome] or outcome,
    get('customer') or '', get('route') or '', get('source') or '', b36(received),
    finished and received and b36(finished - received) or '',
    b36(now - (finished or received or now)), provider}, '\31')
end
