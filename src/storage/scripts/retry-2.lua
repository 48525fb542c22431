#!lua flags=allow-oom
--[[
  retry-2: deliver a consumer's failed messages again, now (POST /api/message/retry).

  KEYS[1]  queue    ZSET <prefix>:{p}:q:<consumer>
  KEYS[2]  pending  ZSET <prefix>:{p}:pending:<consumer>
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  now_ms
  ARGV[4]  wake channel (PUBLISHed "<consumer> <now_ms>" when anything was requeued)
  ARGV[5..] ids
  For each id whose status (in its record <base>m:<id>, lib/record.lua) is "failure" and
  whose data has not expired: it leaves the pending list, its status becomes "waiting"
  with a fresh attempt count, and it is due now.
  Returns  an array, per id: 1 requeued, 0 not failed (or expired).
]]
-- uses record.lua
-- uses wake.lua
local out, any, now = {}, false, tonumber(ARGV[3])
for i = 5, #ARGV do
  local id = ARGV[i]
  local mkey = ARGV[1] .. 'm:' .. id
  local t = rec_load(mkey)
  local at = t and rec_status_at(t, ARGV[2])
  if at and t[at] == 'failure' and tonumber(t[R_DX]) > now then
    redis.call('ZREM', KEYS[2], id)
    t[at], t[at + 1] = 'waiting', '0'
    rec_store(mkey, t)
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    out[#out + 1] = 1
    any = true
  else
    out[#out + 1] = 0
  end
end
if any then wake(ARGV[4], ARGV[2], ARGV[3]) end
return out
