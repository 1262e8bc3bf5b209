-- purge.lua - records erased by id (redis_fb.c): each record's stream
-- entry, its pending entry in the group and its seen key go. Comment and
-- blank lines stay in this file: scripts/lua2c.sh leaves them out of the
-- text sent to Redis.
--
-- KEYS: the stream, then the seen key of each record. ARGV: group.
-- Returns how many records were removed. A seen key holds its record's
-- entry id (put.lua); one that is gone names nothing to remove, so a
-- second purge of the same ids removes 0. XACK before XDEL: a deleted
-- entry would otherwise stay in the group's pending list (pcall: with no
-- consumer yet there is no group, and nothing pending).

local stream, group, n = KEYS[1], ARGV[1], 0
for i = 2, #KEYS do
  local sid = redis.call('GET', KEYS[i])
  if sid then
    if string.find(sid, '^%d+%-%d+$') then
      redis.pcall('XACK', stream, group, sid)
      n = n + redis.call('XDEL', stream, sid)
    end
    redis.call('DEL', KEYS[i])
  end
end
return n
