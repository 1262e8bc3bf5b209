-- ack.lua - records acknowledged by their consumer (redis_fb.c): they
-- leave the queue. Comment and blank lines stay in this file:
-- scripts/lua2c.sh leaves them out of the text sent to Redis.
--
-- KEYS: the stream, then the seen key of each record. ARGV: group.
-- Returns how many were acknowledged. A record whose seen key is gone
-- was trimmed, and its pending entry with it. XACK takes the entry ids
-- 1000 at a time, so that no call has too many arguments for unpack.

local sids = {}
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and string.find(v, '^%d+%-%d+$') then sids[#sids + 1] = v end
end
local n = 0
for i = 1, #sids, 1000 do
  n = n + redis.call('XACK', KEYS[1], ARGV[1],
                     unpack(sids, i, math.min(i + 999, #sids)))
end
return n
