#!lua flags=allow-oom
--[[
  node_renew-2: extend this process's lease on an id-generator node.

  KEYS[1]  lease  <prefix>:node:<n>
  KEYS[2]  clock  <prefix>:node:<n>:clock  (no expiry: the last renewal time, for the next holder)
  ARGV[1]  instance token   ARGV[2] ttl_ms   ARGV[3] now_ms (the holder's clock)
  Returns  1 if the lease is still ours and was extended, 0 if it was lost.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3])
  return 1
end
return 0
