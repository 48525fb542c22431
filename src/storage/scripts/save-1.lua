--[[
  save-1: store messages of one project and schedule one delivery per consumer.
  Atomic: a message is stored whole, with every consumer's status and delivery, or not at all.
  (Named -1 after its fixed part; the number of KEYS is the number of consumer queues.)

  KEYS[1..k] queues  ZSET  <prefix>:{p}:q:<consumer>  member = id, score = due time (ms)
  ARGV[1]  base     "<prefix>:{p}:"  message and status keys are built from it (same slot)
  ARGV[2]  channel  PUBLISHed "<consumer> <due_ms>" when a queue's earliest due time moves earlier
  ARGV[3..2+k]      the consumer of each of KEYS, in order
  then per message, 11 + n fields:
           id, due_ms, create_ms, cmd, params, bucket, request_id,
           data_expire_at_ms, status_expire_at_ms, ordered (0|1),
           n, queue_index_1 .. queue_index_n (1-based)
  Writes   <base>m:<id>  HASH cmd, due, ct, bucket [, params] [, rid]  (empty fields omitted)
           <base>s:<id>  HASH <consumer> = "waiting" for each consumer
  Ordered commands: per consumer the id also joins the bucket's ZSET
           <base>b:<len(consumer)>:<consumer>:<bucket> (score due), and only the bucket's
           head - its first by (due, id) - sits in the consumer's queue. A new head replaces
           the old one in the queue unless the old one's delivery has started.
  Returns  the number of messages stored.
]]
local base, channel, k = ARGV[1], ARGV[2], #KEYS
local earliest, min_due = {}, {}
for q = 1, k do
  local first = redis.call('ZRANGE', KEYS[q], 0, 0, 'WITHSCORES')
  earliest[q] = first[2] and tonumber(first[2])
end
local i, saved = 3 + k, 0
while i <= #ARGV do
  local id, due = ARGV[i], ARGV[i + 1]
  local mkey, skey = base .. 'm:' .. id, base .. 's:' .. id
  local fields = {'cmd', ARGV[i + 3], 'due', due, 'ct', ARGV[i + 2], 'bucket', ARGV[i + 5]}
  if ARGV[i + 4] ~= '' then fields[#fields + 1] = 'params'; fields[#fields + 1] = ARGV[i + 4] end
  if ARGV[i + 6] ~= '' then fields[#fields + 1] = 'rid'; fields[#fields + 1] = ARGV[i + 6] end
  redis.call('HSET', mkey, unpack(fields))
  redis.call('PEXPIREAT', mkey, ARGV[i + 7])
  local ordered, n = ARGV[i + 9] == '1', tonumber(ARGV[i + 10])
  local d = tonumber(due)
  if n > 0 then
    local statuses = {}
    for c = 1, n do
      local q = tonumber(ARGV[i + 10 + c])
      local consumer = ARGV[2 + q]
      statuses[#statuses + 1] = consumer
      statuses[#statuses + 1] = 'waiting'
      local enqueue = true
      if ordered then
        local bkey = base .. 'b:' .. #consumer .. ':' .. consumer .. ':' .. ARGV[i + 5]
        local old = redis.call('ZRANGE', bkey, 0, 0)[1]
        redis.call('ZADD', bkey, due, id)
        redis.call('PEXPIREAT', bkey, ARGV[i + 8], 'GT')
        if redis.call('PTTL', bkey) < 0 then redis.call('PEXPIREAT', bkey, ARGV[i + 8]) end
        enqueue = redis.call('ZRANGE', bkey, 0, 0)[1] == id
        if enqueue and old then
          if redis.call('HGET', base .. 's:' .. old, consumer) == 'waiting' then
            redis.call('ZREM', KEYS[q], old)  -- not started: the earlier message goes first
          else
            enqueue = false  -- the old head is being delivered: this one waits its turn
          end
        end
      end
      if enqueue then
        redis.call('ZADD', KEYS[q], due, id)
        if not min_due[q] or d < min_due[q] then min_due[q] = d end
      end
    end
    redis.call('HSET', skey, unpack(statuses))
    redis.call('PEXPIREAT', skey, ARGV[i + 8])
  end
  saved = saved + 1
  i = i + 11 + n
end
for q = 1, k do
  if min_due[q] and (not earliest[q] or min_due[q] < earliest[q]) then
    redis.call('PUBLISH', channel, ARGV[2 + q] .. ' ' .. min_due[q])
  end
end
return saved
