--[[
  cancel-2: cancel a message none of whose deliveries has started.

  KEYS[1]  status   HASH <prefix>:{p}:s:<id>
  KEYS[2]  message  HASH <prefix>:{p}:m:<id>
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  id
  Every consumer's status must be "waiting"; then each becomes "cancelled" and the id leaves
  every consumer's queue, in one atomic step (a claim cannot slip in between).
  Returns  1 cancelled; 0 no such message; -1 a delivery has started (or it is settled).
]]
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local h = redis.call('HGETALL', KEYS[1])
local consumers = {}
for i = 1, #h, 2 do
  if not string.find(h[i], '#', 1, true) then
    if h[i + 1] ~= 'waiting' then return -1 end
    consumers[#consumers + 1] = h[i]
  end
end
for _, c in ipairs(consumers) do
  redis.call('ZREM', ARGV[1] .. 'q:' .. c, ARGV[2])
  redis.call('HSET', KEYS[1], c, 'cancelled')
end
return 1
