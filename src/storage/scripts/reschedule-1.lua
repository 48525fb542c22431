#!lua flags=allow-oom
--[[
  reschedule-1: move a message none of whose deliveries has started to a new due time,
  keeping its id.

  KEYS[1]  message  STRING <prefix>:{p}:m:<id>, the record (lib/record.lua)
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  id
  ARGV[3]  due_ms   the new due time
  ARGV[4]  data_ttl_ms    msg_save_days: the data counts as expired this long after due
  ARGV[5]  status_ttl_ms  the record lives this long after due (2 x data_ttl)
  ARGV[6]  channel  the project's wake channel: PUBLISHed "<consumer> <due_ms>"
  Every consumer's status must be "waiting" with 0 attempts (nothing started); ordered
  commands are refused (their bucket order is by due time: cancel and send again).
  Atomic: the record's due time and expiries and every consumer's queue entry move together,
  so a claim sees either the old time or the new one.
  Returns  1 rescheduled; 0 no such message; -1 a delivery has started (or it is settled);
           -2 its cmd is ordered (it sits in a bucket).
]]
-- uses record.lua
-- uses wake.lua
local t = rec_load(KEYS[1])
if not t then return 0 end
local base, id, due = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = R_FIRST, #t - 2, 3 do
  if t[i + 1] ~= 'waiting' or t[i + 2] ~= '0' then return -1 end
  if redis.call('ZSCORE', base .. 'q:' .. t[i], id) == false then
    -- not in its queue although waiting: an ordered message behind its bucket's head
    return -2
  end
  if redis.call('HEXISTS', base .. 'h:' .. t[i], id) == 1 then return -2 end  -- a bucket's head
end
local from = math.max(due, tonumber(t[R_CT]))  -- expiries count from due or creation, as save
t[R_DUE] = ARGV[3]
t[R_DX] = string.format('%d', from + tonumber(ARGV[4]))
redis.call('SET', KEYS[1], rec_encode(t), 'PXAT',
    string.format('%d', from + tonumber(ARGV[5])))
for i = R_FIRST, #t - 2, 3 do
  local q = base .. 'q:' .. t[i]
  local head = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
  redis.call('ZADD', q, 'XX', ARGV[3], id)
  if not head[2] or due < tonumber(head[2]) then
    wake(ARGV[6], t[i], ARGV[3])
  end
end
return 1
