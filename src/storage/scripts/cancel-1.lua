#!lua flags=allow-oom
--[[
  cancel-1: cancel a message none of whose deliveries has started.

  KEYS[1]  message  STRING <prefix>:{p}:m:<id>, the record (lib/record.lua)
  ARGV[1]  base     "<prefix>:{p}:"
  ARGV[2]  id
  Every consumer's status must be "waiting"; then each becomes "cancelled" and the id leaves
  every consumer's queue, in one atomic step (a claim cannot slip in between).
  An ordered message also leaves its buckets; if it was a bucket's head, the next id of the
  bucket joins the consumer's queue.
  Returns  1 cancelled; 0 no such message; -1 a delivery has started (or it is settled).
]]
-- uses record.lua
-- uses bucket.lua
-- uses cancel.lua
local t = rec_load(KEYS[1])
if not t then return 0 end
for i = R_FIRST, #t - 2, 3 do
  if t[i + 1] ~= 'waiting' then return -1 end
end
rec_cancel(ARGV[1], KEYS[1], ARGV[2], t)
return 1
