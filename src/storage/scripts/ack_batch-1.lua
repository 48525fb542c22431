#!lua flags=allow-oom
--[[
  ack_batch-1: record the outcomes of many delivery attempts to one consumer in one call,
  each only if its lease is still ours (each as ack-2 records one: lib/ack.lua). A burst's
  outcomes reach Redis together: one script call instead of one per delivery.
  allow-oom: at Redis's memory limit outcomes must still be recorded (a done frees memory).

  KEYS[1]  queue    ZSET <prefix>:{p}:q:<consumer>
  KEYS[2]  pending  ZSET <prefix>:{p}:pending:<consumer>
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  consumer
  ARGV[3]  trim: failures' pending ids scored below this (s) whose record is gone leave the
           list (ack-2's ARGV[8])
  ARGV[4]  how many entries the attempt history keeps (dispatch.attempt_history)
  ARGV[5]  '1' in a Redis Cluster, else '' (ack-2's ARGV[13])
  then per outcome 8 fields, as ack-2's:
           id, lease_until_ms, another lease_until that is ours or '', outcome
           (done | retry | failure | release), at_ms, pending score (s), the bucket of an
           ordered command's message or '', an attempt history entry or ''
  Returns  per outcome, in order: 1 if recorded, 0 if the lease was lost.
  The ids' records are read first, in one MGET (all keys share the project's hash tag, as
  ack-2's), but in a Redis Cluster.
]]
-- uses record.lua
-- uses bucket.lua
-- uses ack.lua
local out = {}
local q, base, n = KEYS[1], ARGV[1], (#ARGV - 5) / 8
local a = {q = q, pending = KEYS[2], base = base, consumer = ARGV[2], trim = ARGV[3],
           keep = ARGV[4], cluster = ARGV[5]}
-- The records of every id, read in one MGET instead of a GET each (ZMSCORE would do the
-- same for the scores, but it is not in the ACL docs/security.md recommends). Ids differ
-- but for a delivery claimed again while a late attempt of it ran: then each outcome reads
-- its own, after the one before it wrote.
local mkeys, seen, recs = {}, {}, {}
local same = false
for j = 1, n do
  local id = ARGV[6 + (j - 1) * 8]
  mkeys[j] = base .. 'm:' .. id
  if seen[id] then same = true end
  seen[id] = true
end
-- Not in a Redis Cluster: while a slot is being migrated, a command of several keys some of
-- which have not moved yet fails (TRYAGAIN), where one key at a time reads as missing.
if n > 0 and not same and ARGV[5] ~= '1' then
  recs = redis.call('MGET', unpack(mkeys))
end
for j = 1, n do
  local k = 6 + (j - 1) * 8
  a.id, a.lease, a.other, a.outcome = ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3]
  a.at, a.ts, a.bucket, a.entry = ARGV[k + 4], ARGV[k + 5], ARGV[k + 6], ARGV[k + 7]
  a.rec = recs[j]  -- nil when not read beforehand
  out[j] = ack_one(a)
end
return out
