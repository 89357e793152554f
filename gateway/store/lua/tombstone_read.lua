-- KEYS: tombstones   ARGV: now, event ids...    Each id's packed tombstone, or nil.
local days = ts_days(KEYS[1], tonumber(ARGV[1]))
local out = {}
for i = 2, #ARGV do out[i - 1] = ts_find(KEYS[1], days, ARGV[i]) end
return out
