-- put.lua - a feedback put (redis_fb.c): records, their counters, queue
-- entries and overrides applied together, as one script call. Comment and
-- blank lines stay in this file: scripts/lua2c.sh leaves them out of the
-- text sent to Redis.
--
-- KEYS: the stream, the counters, then for each record its seen key and,
-- when it has an override, the override's key. ARGV: now (ms), retention
-- (ms, 0: none), then six per record: id, JSON, counter, pair counter (""
-- for none), override value, override TTL (ms, "0" for none). Returns 1
-- (stored) or 0 (stored before: a duplicate) per record.
--
-- A record's id names it and says nothing of time (fbstore.h): the entry
-- takes the time it is stored, "<now>-*", or "*" when the stream's last
-- entry is later (a clock that stepped back), so that MINID trims records
-- by when they were stored. The seen key lives as long as the record:
-- while it exists, a put of the same id is a duplicate, also within one
-- call. Counters are added up and written once per name at the end:
-- fewer calls, and a script is not stopped half-way once it has written
-- (types are checked first, and Redis refuses for OOM only a script's
-- first write).

local stream, counts = KEYS[1], KEYS[2]
local now, ret = tonumber(ARGV[1]), tonumber(ARGV[2])
for _, kt in ipairs({{stream, 'stream'}, {counts, 'hash'}}) do
  local t = redis.call('TYPE', kt[1]).ok
  if t ~= kt[2] and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. kt[1] .. ' is a ' .. t)
  end
end
local cut = 0
if ret > 0 and ret < now then cut = now - ret end
local out, add, k = {}, {}, 3
for a = 3, #ARGV, 6 do
  local id, seen, okey = ARGV[a], KEYS[k], nil
  k = k + 1
  if ARGV[a + 5] ~= '0' then okey = KEYS[k]; k = k + 1 end
  if redis.call('EXISTS', seen) == 1 then
    out[#out + 1] = 0
  else
    local sid = redis.pcall('XADD', stream, 'MINID', '~', cut, now .. '-*',
                            'id', id, 'r', ARGV[a + 1])
    if type(sid) == 'table' then
      sid = redis.call('XADD', stream, 'MINID', '~', cut, '*',
                       'id', id, 'r', ARGV[a + 1])
    end
    local keep = tonumber(string.match(sid, '^%d+')) + ret - now
    for c = a + 2, a + 3 do
      if ARGV[c] ~= '' then add[ARGV[c]] = (add[ARGV[c]] or 0) + 1 end
    end
    if okey then
      redis.call('SET', okey, ARGV[a + 4], 'PX', ARGV[a + 5])
    end
    if ret > 0 then
      redis.call('SET', seen, sid, 'PX', math.max(keep, 1))
    else
      redis.call('SET', seen, sid)
    end
    out[#out + 1] = 1
  end
end
for name, n in pairs(add) do redis.call('HINCRBY', counts, name, n) end
return out
