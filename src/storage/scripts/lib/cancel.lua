-- cancel.lua: cancel a message none of whose deliveries has started (cancel-1, settle-1).
-- Inserted by cmake/embed_scripts.cmake where a script says "-- uses cancel.lua", after
-- record.lua and bucket.lua.

-- rec_cancel makes every consumer's status in t (the record at mkey, message id) "cancelled"
-- and takes the id out of every consumer's queue and bucket (moving a bucket on).
local function rec_cancel(base, mkey, id, t)
  local bucket = t[R_BUCKET]
  for i = R_FIRST, #t - 2, 3 do
    local c = t[i]
    local q = base .. 'q:' .. c
    local queued = redis.call('ZREM', q, id) == 1
    t[i + 1] = 'cancelled'
    bucket_leave(base, c, bucket, q, id, queued)
  end
  rec_store(mkey, t)
end
