#!lua flags=allow-oom
--[[
  settle-1: decide a save whose outcome dmq does not know (Redis timed out, or the
  connection broke after the save was sent): was the message stored?

  KEYS[1]  message  STRING <prefix>:{p}:m:<id>, the record (lib/record.lua)
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  id
  ARGV[3]  expire_at_ms  of the tombstone (that of the record the save would have written)
  ARGV[4]  mode     confirm | revoke
  ARGV[5]  ikey     the message's idempotency key (<base>i:<key>), or '' for none
  No record: an empty string (a tombstone) takes its place, so the save, should it still
  arrive, stores nothing (its SET NX fails; an id it queues is dropped by claim-1).
  confirm: the producer has not been answered yet; a record means the save went through.
  revoke:  the producer was told "not saved"; a record is cancelled (every consumer
           "cancelled", out of every queue), unless a delivery has already started; its
           idempotency key goes too, if it names this message (save-1 sets it with the
           record), so the producer's retry with the same key is stored, not answered
           with the id of a message that will never be delivered.
  allow-oom: the truth must be found out even at Redis's memory limit.
  Returns  1 stored (confirm), 0 not stored (now it never will be), -1 stored and a
           delivery has started (revoke: too late).
]]
-- uses record.lua
-- uses bucket.lua
-- uses cancel.lua
if redis.call('SET', KEYS[1], '', 'NX', 'PXAT', ARGV[3]) then return 0 end
if ARGV[4] == 'confirm' then return rec_get(KEYS[1]) and 1 or 0 end
local t = rec_load(KEYS[1])
if not t then return 0 end
for i = R_FIRST, #t - 2, 3 do
  if t[i + 1] ~= 'waiting' and t[i + 1] ~= 'cancelled' then return -1 end
end
rec_cancel(ARGV[1], KEYS[1], ARGV[2], t)
if ARGV[5] ~= '' and redis.call('GET', ARGV[5]) == ARGV[2] then redis.call('DEL', ARGV[5]) end
return 0
