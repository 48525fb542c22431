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
  The work is lib/ack.lua's, which ack_batch-1 shares (many outcomes in one call).
]]
-- uses record.lua
-- uses bucket.lua
-- uses ack.lua
return ack_one({q = KEYS[1], pending = KEYS[2], base = ARGV[1], consumer = ARGV[2], id = ARGV[3],
  lease = ARGV[4], outcome = ARGV[5], at = ARGV[6], ts = ARGV[7], trim = ARGV[8],
  bucket = ARGV[9], entry = ARGV[10], keep = ARGV[11], other = ARGV[12], cluster = ARGV[13]})
