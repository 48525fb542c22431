#!lua
--[[
  save-1: store messages of one project that need a script: those of ordered commands
  (delivered per bucket in order) and those carrying an idempotency key; schedule one
  delivery per consumer. (Other messages need no script: store::save writes them in a
  MULTI of native commands, docs/storage.md.)
  Atomic: a message is stored whole, with every consumer's status and delivery, and its
  idempotency key, or not at all.
  (Named -1 after its fixed part; the number of KEYS is the number of consumer queues.)

  KEYS[1..k] queues  ZSET  <prefix>:{p}:q:<consumer>  member = id, score = due time (ms)
  ARGV[1]  base     "<prefix>:{p}:"  message keys are built from it (same slot)
  ARGV[2]  channel  PUBLISHed "<consumer> <due_ms>" when a queue's earliest due time moves earlier
  ARGV[3..2+k]      the consumer of each of KEYS, in order
  then per message, 10 + n fields:
           id, due_ms, expire_at_ms, bucket, record,
           ikey (<base>i:<key>, or '' for none), ikey_ttl_ms,
           fkey (<base>f:<request_id>, the find index, or '' for none), ordered ('1' or '0'),
           n, queue_index_1 .. queue_index_n (1-based; the record lists the same
           consumers, in this order, each "waiting" with 0 attempts)
  No allow-oom flag: at Redis's memory limit the whole call is refused (OOM), nothing stored.
  Idempotent: a message whose record key exists (saved by an earlier try of this call, or a
  tombstone: its producer was told "not saved") is skipped whole, so a retry never resets
  a message delivered in between.
  Idempotency keys: a message whose ikey holds another id (a message saved with the same
  key within its project's window) is not stored; its answer is that id. A stored message
  sets its ikey (SET ... PX ikey_ttl_ms); settle-1 removes it again if the save is revoked.
  Writes   <base>m:<id>  STRING the record (lib/record.lua), expiring at expire_at_ms
           fkey: the id joins the SET, which expires with its latest record
           unordered: per consumer the id joins the consumer's queue (ZADD NX).
           ordered: per consumer the id also joins the bucket's ZSET
           <base>b:<len(consumer)>:<consumer>:<bucket> (score due), and only the bucket's
           head - its first by (due, id) - sits in the consumer's queue (and in the heads
           HASH <base>h:<consumer>). A new head replaces the old one in the queue unless the
           old one's delivery has started. Heads whose record is gone leave the bucket first,
           so a lost record never jams its bucket.
  Returns  per message: 1 stored, 0 not stored (its record key existed), or the id (a
           string) of the message first saved with its idempotency key.
]]
-- uses record.lua
-- uses bucket.lua
-- uses wake.lua
local base, channel, k = ARGV[1], ARGV[2], #KEYS
local earliest, min_due = {}, {}
for q = 1, k do
  local first = redis.call('ZRANGE', KEYS[q], 0, 0, 'WITHSCORES')
  earliest[q] = first[2] and tonumber(first[2])
end
local i, out = 3 + k, {}
while i <= #ARGV do
  local id, due, expire_at = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local bucket, ikey, fkey, ordered = ARGV[i + 3], ARGV[i + 5], ARGV[i + 7], ARGV[i + 8] == '1'
  local n, d = tonumber(ARGV[i + 9]), tonumber(due)
  local first = ikey ~= '' and redis.call('GET', ikey)
  local fresh = false
  if first and first ~= id then
    out[#out + 1] = first  -- a message saved earlier with this key: nothing stored
  else
    fresh = redis.call('SET', base .. 'm:' .. id, ARGV[i + 4], 'NX', 'PXAT', expire_at)
    out[#out + 1] = fresh and 1 or 0
    if fresh and ikey ~= '' then redis.call('SET', ikey, id, 'PX', ARGV[i + 6]) end
    if fresh and fkey ~= '' then
      redis.call('SADD', fkey, id)
      redis.call('PEXPIREAT', fkey, expire_at, 'NX')  -- NX: a new key; GT: a later record
      redis.call('PEXPIREAT', fkey, expire_at, 'GT')
    end
  end
  for c = 1, fresh and n or 0 do
    local q = tonumber(ARGV[i + 9 + c])
    local consumer = ARGV[2 + q]
    local enqueue = not ordered
    if not ordered then
      redis.call('ZADD', KEYS[q], 'NX', due, id)
    else
      local bkey = bucket_key(base, consumer, bucket)
      local old = redis.call('ZRANGE', bkey, 0, 0)[1]
      while old and not rec_get(base .. 'm:' .. old) do  -- a head whose record is gone
        redis.call('ZREM', KEYS[q], old)
        bucket_leave(base, consumer, bucket, KEYS[q], old, true)
        old = redis.call('ZRANGE', bkey, 0, 0)[1]
      end
      redis.call('ZADD', bkey, due, id)
      redis.call('PEXPIREAT', bkey, expire_at, 'GT')
      if redis.call('PTTL', bkey) < 0 then redis.call('PEXPIREAT', bkey, expire_at) end
      enqueue = redis.call('ZRANGE', bkey, 0, 0)[1] == id
      if enqueue and old then
        local t = rec_load(base .. 'm:' .. old)
        local at = t and rec_status_at(t, consumer)
        if at and t[at] == 'waiting' then
          redis.call('ZREM', KEYS[q], old)  -- not started: the earlier message goes first
          redis.call('HDEL', heads_key(base, consumer), old)
        else
          enqueue = false  -- the old head is being delivered: this one waits its turn
        end
      end
      if enqueue then
        bucket_head(base, consumer, bucket, KEYS[q], due, id)  -- the next may be of this bucket
      end
    end
    if enqueue and (not min_due[q] or d < min_due[q]) then min_due[q] = d end
  end
  i = i + 10 + n
end
for q = 1, k do
  if min_due[q] and (not earliest[q] or min_due[q] < earliest[q]) then
    wake(channel, ARGV[2 + q], min_due[q])
  end
end
return out
