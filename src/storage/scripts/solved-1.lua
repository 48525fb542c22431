--[[
  solved-1: mark a consumer's failed messages as handled (the seed's "solved").

  KEYS[1]  pending  ZSET <prefix>:{p}:pending:<consumer>  member id, score = timestamp (s)
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3..] message ids
  For each id: it leaves the pending list, and a "failure" status becomes "done".
  Returns  an array, per id: 1 if it was pending or failed (now solved), 0 otherwise.
]]
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local removed = redis.call('ZREM', KEYS[1], id)
  local skey = ARGV[1] .. 's:' .. id
  local status = redis.call('HGET', skey, ARGV[2])
  if status == 'failure' or (removed == 1 and status) then
    redis.call('HSET', skey, ARGV[2], 'done')
  end
  if removed == 1 or status == 'failure' then out[#out + 1] = 1 else out[#out + 1] = 0 end
end
return out
