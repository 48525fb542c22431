#!lua flags=allow-oom
--[[
  claim-1: claim a consumer's due deliveries with a lease (a visibility timeout).
  Each claimed id stays in the queue, re-scored to now + lease: if the dispatcher dies, the
  lease runs out and the delivery is due again for any dispatcher. Nothing is removed
  before it is delivered. allow-oom: at Redis's memory limit a claim must still run, since
  delivering is what frees memory; it grows nothing but a status (and a bounded pending list).

  KEYS[1]  queue   ZSET <prefix>:{p}:q:<consumer>
  ARGV[1]  base    "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  now_ms   the dispatcher's estimate of Redis's time (storage/clock.h): known to
           it before the call, so that it can undo a claim whose answer is lost (unclaim-1)
  ARGV[4]  lease_ms
  ARGV[5]  max     how many to claim at most
  ARGV[6]  shared rate: attempts per second for this consumer across every dispatcher
           (0: none). Counted per wall-clock second in HASH <base>r:<consumer> {s, n}.
  ARGV[7]  horizon_ms (optional; default now_ms): ids scored up to this are claimed, so a
           dispatcher may claim a little ahead (dispatch.prefetch_ms) and send each at its
           due time; leases, rates and data expiry count from now_ms
  ARGV[8]  missing_grace_ms (optional; default 0): in a Redis Cluster, while a slot is being
           migrated, this script may run on the target (ASK) before the message's record has
           moved there. An id without a record that fell due less than this ago is not dropped
           but looked at again a second later (docs/scaling.md).
  For each claimed id: in its record (<base>m:<id>, lib/record.lua) the consumer's status
  := "doing" and its attempts += 1.
  Ids whose status is settled (cancelled, done, failure) leave the queue. Ids that cannot
  be delivered leave it too, and are returned as dropped, with why:
    missing   no record (it expired, or was deleted)
    revoked   a tombstone: the producer was told "not saved" (lib/record.lua)
    consumer  the record has no entry for this consumer
    expired   the data expired (data_expire_at_ms passed) before delivery: the status
              becomes "failure" and the id joins the pending list <base>pending:<consumer>
              (score: the message's timestamp, s)
  An id that leaves the queue so also leaves its ordered bucket (if any), which moves on
  (lib/bucket.lua; a missing record's bucket is found in the heads HASH).
  Returns  {next_due_ms or -1, lease_until_ms, {dropped id, why, ...}, Redis's TIME in µs,
            then per claimed delivery 7 fields:
            id, attempt, due_ms, params, request_id, bucket, queued_ms}
           queued_ms is the score it was claimed at: when this attempt was due (the due
           time, a retry's time, or the time of a manual /retry).
           next_due_ms is the earliest score left in the queue (leases included), or the
           next second when the shared rate is used up, or -2 when the consumer is paused
           (listed in HASH <base>paused): then nothing is claimed, and the dispatcher waits
           for the wake-up that resuming publishes.
]]
-- uses record.lua
-- uses bucket.lua
local q, base, consumer = KEYS[1], ARGV[1], ARGV[2]
local now = tonumber(ARGV[3])
local horizon = math.max(now, tonumber(ARGV[7] or '') or now)
local grace = tonumber(ARGV[8] or '0') or 0
local t = redis.call('TIME')
local time = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lease_until = now + tonumber(ARGV[4])
local max, rate = tonumber(ARGV[5]), tonumber(ARGV[6] or '0')
if redis.call('HGET', base .. 'paused', consumer) then
  return {'-2', lease_until, {}, time}
end
local rkey, sec, used = base .. 'r:' .. consumer, math.floor(now / 1000), 0
if rate > 0 then
  local w = redis.call('HMGET', rkey, 's', 'n')
  if tonumber(w[1]) == sec then used = tonumber(w[2]) end
  max = math.min(max, rate - used)
  if max <= 0 then return {tostring((sec + 1) * 1000), lease_until, {}, time} end
end
local due = redis.call('ZRANGE', q, '-inf', horizon, 'BYSCORE', 'LIMIT', 0, max, 'WITHSCORES')
local dropped = {}
local out = {'-1', lease_until, dropped, time}
local function drop(id, why)
  dropped[#dropped + 1] = id
  dropped[#dropped + 1] = why
end
for k = 1, #due, 2 do
  local id = due[k]
  local mkey = base .. 'm:' .. id
  local s = redis.call('GET', mkey)
  local t, pos
  if s and s ~= '' then t, pos = rec_decode(s) end
  local at = t and rec_status_at(t, consumer)
  local status = at and t[at]
  if not s and grace > 0 and tonumber(due[k + 1]) > now - grace then
    redis.call('ZADD', q, now + 1000, id)  -- its record may be on its way here
  elseif not at then
    redis.call('ZREM', q, id)
    local bucket = (t and t[R_BUCKET]) or bucket_of(base, consumer, id)
    if bucket then bucket_leave(base, consumer, bucket, q, id, true) end
    if not s then drop(id, 'missing') elseif s == '' then drop(id, 'revoked')
    else drop(id, 'consumer') end
  elseif status == 'cancelled' or status == 'done' or status == 'failure' then
    redis.call('ZREM', q, id)
    bucket_leave(base, consumer, t[R_BUCKET], q, id, true)
  elseif tonumber(t[R_DX]) <= now then
    redis.call('ZREM', q, id)
    rec_put(mkey, s, pos[at], pos[at + 2], 'failure', t[at + 1])
    redis.call('ZADD', base .. 'pending:' .. consumer, math.floor(tonumber(t[R_DUE]) / 1000), id)
    bucket_leave(base, consumer, t[R_BUCKET], q, id, true)
    drop(id, 'expired')
  else
    redis.call('ZADD', q, lease_until, id)
    local n = tonumber(t[at + 1]) + 1
    rec_put(mkey, s, pos[at], pos[at + 2], 'doing', string.format('%d', n))
    out[#out + 1] = id
    out[#out + 1] = n
    out[#out + 1] = t[R_DUE]
    out[#out + 1] = t[R_PARAMS]
    out[#out + 1] = t[R_RID]
    out[#out + 1] = t[R_BUCKET]
    out[#out + 1] = due[k + 1]
  end
end
if rate > 0 and #out > 4 then
  redis.call('HSET', rkey, 's', sec, 'n', used + (#out - 4) / 7)
  redis.call('PEXPIRE', rkey, 2000)
end
local first = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
if first[2] then out[1] = first[2] end
return out
