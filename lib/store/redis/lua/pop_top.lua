-- pop_top.lua - the most counted texts of the popularity table
-- (redis_pop.c). Comment and blank lines stay in this file.
--
-- KEYS: the sorted set of counts, the hash of texts. ARGV: how many.
-- Returns (id, count, text) per id, most counted first; an id whose text
-- is missing (never the case after pop_add.lua) is left out.

local rank, texts = KEYS[1], KEYS[2]
local top = redis.call('ZREVRANGE', rank, 0, tonumber(ARGV[1]) - 1,
                       'WITHSCORES')
local out = {}
for i = 1, #top, 2 do
  local t = redis.call('HGET', texts, top[i])
  if t then
    out[#out + 1] = top[i]
    out[#out + 1] = top[i + 1]
    out[#out + 1] = t
  end
end
return out
