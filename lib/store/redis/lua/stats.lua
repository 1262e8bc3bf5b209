-- stats.lua - the numbers of feedback stats (redis_fb.c), of one moment.
-- Comment and blank lines stay in this file: scripts/lua2c.sh leaves them
-- out of the text sent to Redis.
--
-- KEYS: the stream, the counters. ARGV: group. Returns records kept,
-- pending, queued, then counter name, value, name, value, ...
--
-- Queued records are those after the group's last-delivered id. Redis 7
-- keeps the group's lag (entries added minus entries read), which is that
-- number unless entries after the last delivered one were trimmed away
-- undelivered; then the last delivered id lies before the first entry,
-- and every entry kept is queued. A nil lag (entries deleted from the
-- middle by a purge, purge.lua) is made up for by counting the entries
-- after the last delivered one, 1000 per XRANGE. No group yet: nothing
-- was delivered.

local stream, group = KEYS[1], ARGV[1]
local len, pending, queued = 0, 0, 0
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, bm = tonumber(am), tonumber(bm)
  return am < bm or (am == bm and tonumber(as) < tonumber(bs))
end
if redis.call('EXISTS', stream) == 1 then
  len = redis.call('XLEN', stream)
  queued = len
  for _, e in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local g = {}
    for i = 1, #e - 1, 2 do g[e[i]] = e[i + 1] end
    if g['name'] == group then
      pending = g['pending']
      local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
      if head[1] and not before(g['last-delivered-id'], head[1][1]) then
        if type(g['lag']) == 'number' then
          queued = math.min(g['lag'], len)
        else
          local from = '(' .. g['last-delivered-id']
          queued = 0
          while true do
            local page = redis.call('XRANGE', stream, from, '+', 'COUNT', 1000)
            queued = queued + #page
            if #page < 1000 then break end
            from = '(' .. page[#page][1]
          end
        end
      end
    end
  end
end
local out = {len, pending, queued}
for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do
  out[#out + 1] = v
end
return out
