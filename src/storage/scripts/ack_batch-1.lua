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
  (Reading the records in one MGET first saved nothing measurable: 7-8 µs an outcome either
  way, most of it record.lua's work on the record string.)
]]
-- uses record.lua
-- uses bucket.lua
-- uses ack.lua
local out = {}
local a = {q = KEYS[1], pending = KEYS[2], base = ARGV[1], consumer = ARGV[2], trim = ARGV[3],
           keep = ARGV[4], cluster = ARGV[5]}
for k = 6, #ARGV - 7, 8 do
  a.id, a.lease, a.other, a.outcome = ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3]
  a.at, a.ts, a.bucket, a.entry = ARGV[k + 4], ARGV[k + 5], ARGV[k + 6], ARGV[k + 7]
  out[#out + 1] = ack_one(a)
end
return out
