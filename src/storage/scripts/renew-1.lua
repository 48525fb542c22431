#!lua flags=allow-oom
--[[
  renew-1: a live dispatcher's heartbeat: extend the leases of its deliveries in flight.
  Leases are short (dispatch.heartbeat_lease_ms, 2 s), so a dispatcher that dies loses
  them within seconds; while it lives it renews them here, so a slow consumer's delivery
  is never claimed twice. A lease is ours while the id's score is one of the two tokens we
  pass (the last renewal whose answer we saw, and one whose answer may be on its way or
  lost); a lease that ran out and was claimed again is left alone. allow-oom: it grows
  nothing.

  KEYS[1]  queue   ZSET <prefix>:{p}:q:<consumer>
  ARGV     per delivery 4: id, new lease_until (ms, Redis's clock), token, other token
           (the same as token when there is only one)
  Returns  per delivery 1 renewed (its score is now the new lease_until), 0 lease lost.
]]
local q = KEYS[1]
local out = {}
for k = 1, #ARGV, 4 do
  local score = tonumber(redis.call('ZSCORE', q, ARGV[k]))
  if score and (score == tonumber(ARGV[k + 2]) or score == tonumber(ARGV[k + 3])) then
    redis.call('ZADD', q, 'XX', ARGV[k + 1], ARGV[k])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
