#!lua flags=allow-oom
--[[
  unbucket-2: release the messages waiting in an ordered bucket of a consumer that no
  ordered command uses any more (its command was switched to unordered): they join the
  consumer's queue at their due times, to be delivered unordered, as now configured.

  KEYS[1]  bucket  ZSET <prefix>:{p}:b:<len(consumer)>:<consumer>:<bucket>
  KEYS[2]  queue   ZSET <prefix>:{p}:q:<consumer>
  ARGV[1]  base    "<prefix>:{p}:"
  ARGV[2]  consumer
  Settled ones (and those whose record is gone) just leave the bucket.
  Returns  how many messages joined the queue (its head was there already).
]]
-- uses record.lua
-- uses bucket.lua
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local hkey, n = heads_key(ARGV[1], ARGV[2]), 0
for i = 1, #all, 2 do
  local t = rec_load(ARGV[1] .. 'm:' .. all[i])
  local at = t and rec_status_at(t, ARGV[2])
  if at and (t[at] == 'waiting' or t[at] == 'doing') then  -- not settled: deliver it
    n = n + redis.call('ZADD', KEYS[2], 'NX', all[i + 1], all[i])
  end
  redis.call('HDEL', hkey, all[i])
end
redis.call('DEL', KEYS[1])
return n
