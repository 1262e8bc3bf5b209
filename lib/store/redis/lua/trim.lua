-- trim.lua - records past their retention removed (redis_fb.c). Comment
-- and blank lines stay in this file: scripts/lua2c.sh leaves them out of
-- the text sent to Redis.
--
-- KEYS: the stream. ARGV: the cutoff (ms), group. Removes the entries
-- older than the cutoff (exactly: a put's MINID ~ trims whole nodes
-- only) and acknowledges their pending entries, which Redis leaves in the
-- group, 1000 per XPENDING page. Returns the entries removed.

local stream, group = KEYS[1], ARGV[2]
if redis.call('EXISTS', stream) == 0 then return 0 end
local n = redis.call('XTRIM', stream, 'MINID', ARGV[1])
local stop = '(' .. ARGV[1] .. '-0'
while true do
  local p = redis.pcall('XPENDING', stream, group, '-', stop, 1000)
  if type(p) ~= 'table' or p.err or #p == 0 then break end
  local ids = {}
  for i, e in ipairs(p) do ids[i] = e[1] end
  redis.call('XACK', stream, group, unpack(ids))
  if #p < 1000 then break end
end
return n
