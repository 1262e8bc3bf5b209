-- tally_add.lua - counts added to the tally (redis_tally.c). Comment and
-- blank lines stay in this file.
--
-- KEYS: the tally's hash. ARGV: a floor day ("YYYYMMDD", or "" for none),
-- then (field, count) per field. Adds each count to its field; with a
-- floor, then removes every field whose day (its first 8 bytes) sorts
-- before it. Returns how many fields were removed.

local tally, floor = KEYS[1], ARGV[1]
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', tally, ARGV[i], ARGV[i + 1])
end
if floor == '' then return 0 end
local old = {}
for _, f in ipairs(redis.call('HKEYS', tally)) do
  if string.sub(f, 1, 8) < floor then old[#old + 1] = f end
end
for i = 1, #old, 1000 do
  redis.call('HDEL', tally, unpack(old, i, math.min(i + 999, #old)))
end
return #old
