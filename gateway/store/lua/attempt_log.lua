-- KEYS: event keys   ARGV: one attempt as a JSON line, how many lines to keep
-- Notes a MEGA call (or a replay) on each event's timeline, its `log` field: JSON lines, the last
-- few kept. A compacted or expired event gets none.
for _, key in ipairs(KEYS) do ev_log(key, ARGV[1], ARGV[2]) end
return #KEYS
