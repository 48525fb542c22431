--[[
  retry-2: deliver a consumer's failed messages again, now (POST /api/message/retry).

  KEYS[1]  queue    ZSET <prefix>:{p}:q:<consumer>
  KEYS[2]  pending  ZSET <prefix>:{p}:pending:<consumer>
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  now_ms
  ARGV[4]  wake channel (PUBLISHed "<consumer> <now_ms>" when anything was requeued)
  ARGV[5..] ids
  For each id whose status is "failure" and whose data still exists: it leaves the pending
  list, its status becomes "waiting" with a fresh attempt count, and it is due now.
  Returns  an array, per id: 1 requeued, 0 not failed (or expired).
]]
local out, any = {}, false
for i = 5, #ARGV do
  local id = ARGV[i]
  local skey = ARGV[1] .. 's:' .. id
  local status = redis.call('HGET', skey, ARGV[2])
  if status == 'failure' and redis.call('EXISTS', ARGV[1] .. 'm:' .. id) == 1 then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', skey, ARGV[2], 'waiting', ARGV[2] .. '#n', 0)
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = 1
    any = true
  else
    out[#out + 1] = 0
  end
end
if any then redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. ARGV[3]) end
return out
