-- ack.lua: recording one delivery attempt's outcome, if the lease is still ours; the body
-- of ack-2 (one outcome a call) and ack_batch-1 (many). Inserted by
-- cmake/embed_scripts.cmake where a script says "-- uses ack.lua", after record.lua and
-- bucket.lua, which it uses.
--
-- ack_history appends a.entry to the consumer's attempt history of a.id (HASH <base>a:<id>),
-- keeping the last a.keep, with the expiry of the record at mkey; nothing without an entry
-- or a record.
local function ack_history(a, mkey)
  local entry = a.entry
  if not entry or entry == '' then return end
  local expire_at = redis.call('PEXPIRETIME', mkey)
  if expire_at < 0 then return end  -- no record (or, never the case, no expiry)
  local akey, keep = a.base .. 'a:' .. a.id, tonumber(a.keep)
  local old = redis.call('HGET', akey, a.consumer)
  local v = entry
  if old and keep > 1 then
    local parts = {}
    for e in string.gmatch(old, '[^\n]+') do parts[#parts + 1] = e end
    parts[#parts + 1] = entry
    v = table.concat(parts, '\n', math.max(1, #parts - keep + 1), #parts)
  end
  redis.call('HSET', akey, a.consumer, v)
  redis.call('PEXPIREAT', akey, expire_at)
end

-- ack_one(a) records the outcome a describes in queue q = a.q (pending list a.pending):
--   a.base "<prefix>:{p}:", a.consumer, a.id, a.lease (lease_until_ms as claim-1 returned
--   it), a.other (another lease_until that is ours, a renewal's; or '' / nil), a.outcome
--   (done | retry | failure | release), a.at (retry: the next attempt's time; release: due
--   again at), a.ts (failure: the pending score, the message's timestamp in s), a.trim
--   (failure: pending ids scored below this (s) whose record is gone leave the list, at
--   most 16 looked at), a.bucket (an ordered command's bucket, or ''), a.entry (an attempt
--   history entry, or ''), a.keep (how many history entries are kept), a.cluster ('1' in
--   a Redis Cluster: an outcome that needs a record that is not there (a slot being
--   migrated) changes nothing and counts as a lost lease).
-- Returns 1 if recorded, 0 if the lease was lost. What each outcome does: ack-2.lua.
local function ack_one(a)
  local q, id = a.q, a.id
  local score = tonumber(redis.call('ZSCORE', q, id))
  if not score or (score ~= tonumber(a.lease) and score ~= tonumber(a.other or '')) then
    return 0
  end
  local mkey, outcome = a.base .. 'm:' .. id, a.outcome
  if outcome == 'retry' then
    redis.call('ZADD', q, 'XX', a.at, id)
    ack_history(a, mkey)
    return 1
  end
  local s = rec_get(mkey)
  if not s and a.cluster == '1' then return 0 end
  if outcome == 'release' then
    redis.call('ZADD', q, 'XX', a.at, id)
    rec_release(mkey, s, a.consumer)
    return 1
  end
  local from, status, attempts, to
  if s then from, status, attempts, to = rec_find(s, a.consumer) end
  redis.call('ZREM', q, id)
  if from then rec_put(mkey, s, from, to, outcome, attempts) end
  if outcome == 'failure' then
    redis.call('ZADD', a.pending, a.ts, id)
    local old = redis.call('ZRANGE', a.pending, '-inf', '(' .. a.trim, 'BYSCORE', 'LIMIT', 0, 16)
    for _, x in ipairs(old) do
      if not rec_get(a.base .. 'm:' .. x) then redis.call('ZREM', a.pending, x) end
    end
  end
  if a.bucket ~= '' then bucket_leave(a.base, a.consumer, a.bucket, q, id, true) end
  ack_history(a, mkey)
  return 1
end
