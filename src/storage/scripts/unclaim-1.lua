#!lua flags=allow-oom
--[[
  unclaim-1: undo a claim whose answer was lost (Redis timed out, or the connection broke,
  after claim-1 was sent): nobody received those deliveries, so instead of waiting for
  their lease to run out they are due again now, with their attempt given back. Run by
  the claiming process first thing on its next connection (store::on_connect), before it
  revokes the saves it answered "not saved", which it may then cancel.

  KEYS[1]  queue   ZSET <prefix>:{p}:q:<consumer>
  ARGV[1]  base    "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  lease_until_ms  the score the lost claim gave what it claimed
  ARGV[4]  now_ms          when they are due again
  Returns  how many deliveries were given back.
]]
-- uses record.lua
local ids = redis.call('ZRANGE', KEYS[1], ARGV[3], ARGV[3], 'BYSCORE')
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[4], id)
  rec_release(ARGV[1] .. 'm:' .. id, rec_get(ARGV[1] .. 'm:' .. id), ARGV[2])
end
return #ids
