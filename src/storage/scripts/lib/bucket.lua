-- bucket.lua: ordered buckets (docs/storage.md, "Ordered buckets").
-- Inserted by cmake/embed_scripts.cmake where a script says "-- uses bucket.lua".
-- For an ordered command, the ids of one bucket not yet settled for a consumer wait in the
-- ZSET <base>b:<len(consumer)>:<consumer>:<bucket>, scored by due time; only the first of
-- them (the head) sits in the consumer's queue. The HASH <base>h:<consumer> maps each head
-- in the queue to its bucket, so a head whose record is gone (expired, deleted) can still
-- move its bucket on.

-- bucket_key names the bucket's ZSET; storage::keys::bucket builds the same name in C++.
local function bucket_key(base, consumer, bucket)
  return base .. 'b:' .. #consumer .. ':' .. consumer .. ':' .. bucket
end

-- heads_key names the consumer's HASH of bucket heads; storage::keys::heads in C++.
local function heads_key(base, consumer)
  return base .. 'h:' .. consumer
end

-- bucket_head puts id, the head of bucket, in queue q at score due.
local function bucket_head(base, consumer, bucket, q, due, id)
  redis.call('ZADD', q, 'NX', due, id)
  redis.call('HSET', heads_key(base, consumer), id, bucket)
end

-- bucket_leave takes id out of its bucket. If id was the bucket's entry in queue q
-- (queued: the caller has just taken it out of q), the bucket moves on: its first id now
-- (if any) joins q at its due time. That first id is not always the one after id: a
-- message saved with an earlier due time while id was being delivered waits before it.
-- A no-op for an id that is not in the bucket (an unordered message, or a failed one that
-- POST /retry delivers outside its bucket).
local function bucket_leave(base, consumer, bucket, q, id, queued)
  redis.call('HDEL', heads_key(base, consumer), id)
  local bkey = bucket_key(base, consumer, bucket)
  if redis.call('ZREM', bkey, id) == 1 and queued then
    local head = redis.call('ZRANGE', bkey, 0, 0, 'WITHSCORES')
    if head[1] then bucket_head(base, consumer, bucket, q, head[2], head[1]) end
  end
end

-- bucket_of returns the bucket of a head whose record is gone, or nil (not a head).
local function bucket_of(base, consumer, id)
  local b = redis.call('HGET', heads_key(base, consumer), id)
  if b then return b end
  return nil
end
