-- KEYS: contact buckets   ARGV: the index (JSON, as INGEST's), per bucket key the field, TTL
-- (s), event id. Index leads whose contact was learnt after the intake (Meta's, once fetched).
local index = cjson.decode(ARGV[1])
for i = 1, #KEYS do
  contact_add(KEYS[i], ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1], index)
end
return #KEYS
