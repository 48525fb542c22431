--[[
  enqueue-1: add unordered messages to their consumers' queues, and wake the dispatchers of
  each queue whose earliest due time moves earlier. store::save sends it (EVAL) inside the MULTI
  that SETs the messages' records, so a message is stored whole or not at all, as with
  save-1; the records are plain SETs because a SET from Lua costs Redis about twice as
  much as a native one (docs/performance.md).
  (Named -1 after its fixed part; the number of KEYS is the number of consumer queues.)

  KEYS[1..k] queues  ZSET  <prefix>:{p}:q:<consumer>  member = id, score = due time (ms)
  ARGV[1]  channel  PUBLISHed "<consumer> <due_ms>" when a queue's earliest due time moves earlier
  then per queue, in the order of KEYS: consumer, min_due, n, then n pairs due, id
           (min_due: the earliest due of the n; n <= store::max_per_script, far below
           unpack()'s limit)
  Returns  the number of queues.
]]
local channel, i = ARGV[1], 2
for q = 1, #KEYS do
  local consumer, min_due, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local first = redis.call('ZRANGE', KEYS[q], 0, 0, 'WITHSCORES')[2]
  redis.call('ZADD', KEYS[q], unpack(ARGV, i + 3, i + 2 + 2 * n))
  if not first or tonumber(min_due) < tonumber(first) then
    redis.call('PUBLISH', channel, consumer .. ' ' .. min_due)
  end
  i = i + 3 + 2 * n
end
return #KEYS
