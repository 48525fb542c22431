#!lua flags=allow-oom
--[[
  solved-1: mark a consumer's failed messages as handled (the seed's "solved").

  KEYS[1]  pending  ZSET <prefix>:{p}:pending:<consumer>  member id, score = timestamp (s)
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3..] message ids
  For each id: it leaves the pending list, and a "failure" status (in its record
  <base>m:<id>, lib/record.lua) becomes "done".
  Returns  an array, per id: 1 if it was pending or failed (now solved), 0 otherwise.
]]
-- uses record.lua
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local removed = redis.call('ZREM', KEYS[1], id)
  local mkey = ARGV[1] .. 'm:' .. id
  local t = rec_load(mkey)
  local at = t and rec_status_at(t, ARGV[2])
  local status = at and t[at]
  if status == 'failure' or (removed == 1 and status) then
    t[at] = 'done'
    rec_store(mkey, t)
  end
  if removed == 1 or status == 'failure' then out[#out + 1] = 1 else out[#out + 1] = 0 end
end
return out
