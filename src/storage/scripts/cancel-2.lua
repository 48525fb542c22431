--[[
  cancel-2: cancel a message none of whose deliveries has started.

  KEYS[1]  status   HASH <prefix>:{p}:s:<id>
  KEYS[2]  message  HASH <prefix>:{p}:m:<id>
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  id
  Every consumer's status must be "waiting"; then each becomes "cancelled" and the id leaves
  every consumer's queue, in one atomic step (a claim cannot slip in between).
  An ordered message also leaves its buckets; if it was a bucket's head, the next id of the
  bucket joins the consumer's queue.
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
local bucket = redis.call('HGET', KEYS[2], 'bucket') or ''
for _, c in ipairs(consumers) do
  local q = ARGV[1] .. 'q:' .. c
  redis.call('ZREM', q, ARGV[2])
  redis.call('HSET', KEYS[1], c, 'cancelled')
  local bkey = ARGV[1] .. 'b:' .. #c .. ':' .. c .. ':' .. bucket
  local was_head = redis.call('ZRANGE', bkey, 0, 0)[1] == ARGV[2]
  if redis.call('ZREM', bkey, ARGV[2]) == 1 and was_head then
    local head = redis.call('ZRANGE', bkey, 0, 0, 'WITHSCORES')
    if head[1] then redis.call('ZADD', q, 'NX', head[2], head[1]) end
  end
end
return 1
