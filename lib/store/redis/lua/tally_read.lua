-- tally_read.lua - every field of the tally and its count
-- (redis_tally.c). Comment and blank lines stay in this file.
--
-- KEYS: the tally's hash. Returns (field, count) per field.

return redis.call('HGETALL', KEYS[1])
