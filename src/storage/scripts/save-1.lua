--[[
  save-1: store messages of one project and schedule one delivery per consumer.
  Atomic: a message is stored whole, with every consumer's status and delivery, or not at all.

  KEYS[1]  queue   ZSET  <prefix>:{p}:q   member "<id>:<consumer>", score = due time (ms)
  ARGV[1]  base    "<prefix>:{p}:"  message and status keys are built from it (same slot)
  ARGV[2]  channel PUBLISHed the new earliest due time (ms) when it moves earlier
  ARGV[3..] per message, 10 + n fields:
           id, due_ms, create_ms, cmd, params, bucket, request_id,
           data_expire_at_ms, status_expire_at_ms, n, consumer_1 .. consumer_n
  Writes   <base>m:<id>  HASH cmd, due, ct, bucket [, params] [, rid]  (empty fields omitted)
           <base>s:<id>  HASH <consumer> = "waiting" for each consumer
  Returns  the number of messages stored.
]]
local queue, base, channel = KEYS[1], ARGV[1], ARGV[2]
local first = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
local earliest = first[2] and tonumber(first[2])
local min_due
local i, saved = 3, 0
while i <= #ARGV do
  local id, due = ARGV[i], ARGV[i + 1]
  local mkey, skey = base .. 'm:' .. id, base .. 's:' .. id
  local fields = {'cmd', ARGV[i + 3], 'due', due, 'ct', ARGV[i + 2], 'bucket', ARGV[i + 5]}
  if ARGV[i + 4] ~= '' then fields[#fields + 1] = 'params'; fields[#fields + 1] = ARGV[i + 4] end
  if ARGV[i + 6] ~= '' then fields[#fields + 1] = 'rid'; fields[#fields + 1] = ARGV[i + 6] end
  redis.call('HSET', mkey, unpack(fields))
  redis.call('PEXPIREAT', mkey, ARGV[i + 7])
  local n = tonumber(ARGV[i + 9])
  local statuses, deliveries = {}, {}
  for c = 1, n do
    local consumer = ARGV[i + 9 + c]
    statuses[#statuses + 1] = consumer
    statuses[#statuses + 1] = 'waiting'
    deliveries[#deliveries + 1] = due
    deliveries[#deliveries + 1] = id .. ':' .. consumer
  end
  if n > 0 then
    redis.call('HSET', skey, unpack(statuses))
    redis.call('PEXPIREAT', skey, ARGV[i + 8])
    redis.call('ZADD', queue, unpack(deliveries))
  end
  local d = tonumber(due)
  if not min_due or d < min_due then min_due = d end
  saved = saved + 1
  i = i + 10 + n
end
if min_due and (not earliest or min_due < earliest) then
  redis.call('PUBLISH', channel, min_due)
end
return saved
