-- consume.lua - records for one consumer of the retraining queue
-- (redis_fb.c). Comment and blank lines stay in this file:
-- scripts/lua2c.sh leaves them out of the text sent to Redis.
--
-- KEYS: the stream. ARGV: group, consumer, max, claim idle (ms). Returns
-- record id, JSON, record id, JSON, ...
--
-- The group is made here, on first use, from the start of the stream, so
-- that records stored before any consumer existed are queued too. Idle
-- records are claimed first; XAUTOCLAIM looks at 10 x COUNT pending
-- entries per call, so its cursor is followed to the end, or records of a
-- dead consumer could sit behind a live one's forever. An entry that is
-- not a record of ours is acknowledged: there is nothing to deliver.

local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local max, idle = tonumber(ARGV[3]), ARGV[4]
-- A record id (fbid.c): 1 to 64 of A-Z a-z 0-9 . _ : -.
local idpat = '^[A-Za-z0-9._:%-]+$'
if redis.call('EXISTS', stream) == 0 then return {} end
local made = redis.pcall('XGROUP', 'CREATE', stream, group, '0')
if type(made) == 'table' and made.err and
   not string.find(made.err, '^BUSYGROUP') then
  return made
end
local out, n = {}, 0
local function take(e)
  local f, rid, rec = e[2], nil, nil
  for i = 1, #f - 1, 2 do
    if f[i] == 'id' then rid = f[i + 1] elseif f[i] == 'r' then
      rec = f[i + 1] end
  end
  if rid and rec and #rid <= 64 and string.find(rid, idpat) then
    out[#out + 1] = rid; out[#out + 1] = rec; n = n + 1
  else
    redis.call('XACK', stream, group, e[1])
  end
end
local cursor = '0-0'
repeat
  local r = redis.call('XAUTOCLAIM', stream, group, me, idle, cursor,
                       'COUNT', max - n)
  cursor = r[1]
  for _, e in ipairs(r[2]) do if e then take(e) end end
until cursor == '0-0' or n >= max
if n < max then
  local r = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT',
                       max - n, 'STREAMS', stream, '>')
  if r then for _, e in ipairs(r[1][2]) do take(e) end end
end
return out
