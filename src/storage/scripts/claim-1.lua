--[[
  claim-1: claim a consumer's due deliveries with a lease (a visibility timeout).
  Each claimed id stays in the queue, re-scored to now + lease: if the dispatcher dies, the
  lease runs out and the delivery is due again for any dispatcher. Nothing is removed
  before it is delivered.

  KEYS[1]  queue   ZSET <prefix>:{p}:q:<consumer>
  ARGV[1]  base    "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  now_ms
  ARGV[4]  lease_ms
  ARGV[5]  max     how many to claim at most
  ARGV[6]  shared rate: attempts per second for this consumer across every dispatcher
           (0: none). Counted per wall-clock second in HASH <base>r:<consumer> {s, n}.
  For each claimed id: status := "doing", attempt count <consumer>#n += 1.
  Ids whose status is settled (cancelled, done, failure) leave the queue; ids whose data
  expired before delivery leave it as "failure".
  Returns  {next_due_ms or -1, lease_until_ms, then per claimed delivery 6 fields:
            id, attempt, due_ms, params, request_id, bucket}
           next_due_ms is the earliest score left in the queue (leases included), or the
           next second when the shared rate is used up.
]]
local q, base, consumer = KEYS[1], ARGV[1], ARGV[2]
local now, lease_until = tonumber(ARGV[3]), tonumber(ARGV[3]) + tonumber(ARGV[4])
local max, rate = tonumber(ARGV[5]), tonumber(ARGV[6] or '0')
local rkey, sec, used = base .. 'r:' .. consumer, math.floor(now / 1000), 0
if rate > 0 then
  local w = redis.call('HMGET', rkey, 's', 'n')
  if tonumber(w[1]) == sec then used = tonumber(w[2]) end
  max = math.min(max, rate - used)
  if max <= 0 then return {tostring((sec + 1) * 1000), lease_until} end
end
local ids = redis.call('ZRANGE', q, '-inf', now, 'BYSCORE', 'LIMIT', 0, max)
local out = {'-1', lease_until}
for _, id in ipairs(ids) do
  local skey = base .. 's:' .. id
  local status = redis.call('HGET', skey, consumer)
  local m = redis.call('HMGET', base .. 'm:' .. id, 'due', 'params', 'rid', 'bucket')
  if status == 'cancelled' or status == 'done' or status == 'failure' then
    redis.call('ZREM', q, id)
  elseif not m[1] then
    redis.call('ZREM', q, id)
    if status then redis.call('HSET', skey, consumer, 'failure') end
  else
    redis.call('ZADD', q, lease_until, id)
    local n = redis.call('HINCRBY', skey, consumer .. '#n', 1)
    redis.call('HSET', skey, consumer, 'doing')
    out[#out + 1] = id
    out[#out + 1] = n
    out[#out + 1] = m[1]
    out[#out + 1] = m[2] or ''
    out[#out + 1] = m[3] or ''
    out[#out + 1] = m[4] or ''
  end
end
if rate > 0 and #out > 2 then
  redis.call('HSET', rkey, 's', sec, 'n', used + (#out - 2) / 6)
  redis.call('PEXPIRE', rkey, 2000)
end
local first = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
if first[2] then out[1] = first[2] end
return out
