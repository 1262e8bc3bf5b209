-- pop_add.lua - counts added to the popularity table (redis_pop.c).
-- Comment and blank lines stay in this file: scripts/lua2c.sh leaves them
-- out of the text sent to Redis.
--
-- KEYS: the sorted set of counts, the hash of texts (one hash tag, one
-- slot). ARGV: keep, then (id, count, text) per text. Adds each count to
-- its id's score and keeps the text of an id it does not have yet. Past
-- keep + keep/4 + 1 ids, drops the least counted (and their texts) down to
-- keep: the slack gives a new text time to gather counts. Returns the ids
-- dropped.

local rank, texts = KEYS[1], KEYS[2]
local keep = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  redis.call('ZINCRBY', rank, ARGV[i + 1], ARGV[i])
  redis.call('HSETNX', texts, ARGV[i], ARGV[i + 2])
end
local n = redis.call('ZCARD', rank)
if n <= keep + math.floor(keep / 4) + 1 then return 0 end
local drop = n - keep
local ids = redis.call('ZRANGE', rank, 0, drop - 1)
redis.call('ZREMRANGEBYRANK', rank, 0, drop - 1)
for i = 1, #ids, 1000 do
  redis.call('HDEL', texts, unpack(ids, i, math.min(i + 999, #ids)))
end
return drop
