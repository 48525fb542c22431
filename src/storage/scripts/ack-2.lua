#!lua flags=allow-oom
--[[
  ack-2: record the outcome of one delivery attempt, if the lease is still ours.
  allow-oom: at Redis's memory limit outcomes must still be recorded (a done frees memory).
  The lease is ours while the id's score is the lease_until our claim (or our last
  renewal of it, renew-1) set; after it ran
  out another dispatcher may have claimed it again, and then this ack changes nothing.

  KEYS[1]  queue    ZSET <prefix>:{p}:q:<consumer>
  KEYS[2]  pending  ZSET <prefix>:{p}:pending:<consumer>
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  id
  ARGV[4]  lease_until_ms  as returned by claim-1
  ARGV[5]  outcome  done | retry | failure | release
  ARGV[6]  at_ms    retry: when the next attempt is due; release: when it is due again
  ARGV[7]  pending score: the message's timestamp (s)        (failure only)
  ARGV[8]  trim: pending ids scored below this (s) whose record is gone leave the list
           (failure only; at most 16 looked at per call: a failure is listed as long as
           its record lives, whatever its timestamp)
  ARGV[9]  the bucket of an ordered command's message, or ''  (lib/bucket.lua)
  ARGV[10] an attempt history entry (compact JSON, no newline), or '' for none
  ARGV[11] how many entries the history keeps (dispatch.attempt_history)
  ARGV[12] another lease_until that is ours, or '' (optional): a live dispatcher renews its
           leases (renew-1), and an ack may reach Redis before or after a renewal whose
           answer it has not seen
  ARGV[13] '1' in a Redis Cluster (optional): while a slot is being migrated this script may
           run on the target (ASK) before the message's record has moved there; an outcome
           that needs the record then changes nothing and returns 0, as a lost lease: the
           delivery is made again once its lease runs out (docs/scaling.md)
  The status and attempt count are the consumer's in the message's record <base>m:<id>
  (lib/record.lua); a record that expired meanwhile is left alone.
  done:    the id leaves the queue, status "done".
  retry:   the id is re-scored to at_ms; status stays "doing" (no worker waits).
  failure: the id leaves the queue, status "failure", the id joins the pending list.
  release: the id is re-scored to at_ms and its attempt count given back (shutdown); with
           no attempt left its status is "waiting" again.
  done and failure of an ordered command also move its bucket on (lib/bucket.lua): the id
  leaves the bucket's ZSET and the next id in it (if any) joins the queue at its due time.
  done, retry and failure with an entry append it to the consumer's field of HASH
  <base>a:<id> (entries joined by newlines, oldest first, the last ARGV[11] kept), whose
  expiry is set to the record's (PEXPIRETIME), so the history lives exactly as long as the
  statuses; with no record left nothing is written.
  Returns  1 if recorded, 0 if the lease was lost.
]]
-- uses record.lua
-- uses bucket.lua
local q, id = KEYS[1], ARGV[3]
local score = tonumber(redis.call('ZSCORE', q, id))
if not score or (score ~= tonumber(ARGV[4]) and score ~= tonumber(ARGV[12] or '')) then
  return 0
end
local mkey, outcome = ARGV[1] .. 'm:' .. id, ARGV[5]
-- history appends ARGV[10] to the consumer's attempt history, keeping the last ARGV[11].
local function history()
  local entry = ARGV[10]
  if not entry or entry == '' then return end
  local expire_at = redis.call('PEXPIRETIME', mkey)
  if expire_at < 0 then return end  -- no record (or, never the case, no expiry)
  local akey, keep = ARGV[1] .. 'a:' .. id, tonumber(ARGV[11])
  local old = redis.call('HGET', akey, ARGV[2])
  local v = entry
  if old and keep > 1 then
    local parts = {}
    for e in string.gmatch(old, '[^\n]+') do parts[#parts + 1] = e end
    parts[#parts + 1] = entry
    v = table.concat(parts, '\n', math.max(1, #parts - keep + 1), #parts)
  end
  redis.call('HSET', akey, ARGV[2], v)
  redis.call('PEXPIREAT', akey, expire_at)
end
if outcome == 'retry' then
  redis.call('ZADD', q, 'XX', ARGV[6], id)
  history()
  return 1
end
local s = rec_get(mkey)
if not s and ARGV[13] == '1' then return 0 end
if outcome == 'release' then
  redis.call('ZADD', q, 'XX', ARGV[6], id)
  rec_release(mkey, s, ARGV[2])
  return 1
end
local from, status, attempts, to
if s then from, status, attempts, to = rec_find(s, ARGV[2]) end
redis.call('ZREM', q, id)
if from then rec_put(mkey, s, from, to, outcome, attempts) end
if outcome == 'failure' then
  redis.call('ZADD', KEYS[2], ARGV[7], id)
  local old = redis.call('ZRANGE', KEYS[2], '-inf', '(' .. ARGV[8], 'BYSCORE', 'LIMIT', 0, 16)
  for _, x in ipairs(old) do
    if not rec_get(ARGV[1] .. 'm:' .. x) then redis.call('ZREM', KEYS[2], x) end
  end
end
if ARGV[9] ~= '' then bucket_leave(ARGV[1], ARGV[2], ARGV[9], q, id, true) end
history()
return 1
