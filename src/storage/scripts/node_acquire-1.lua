#!lua flags=allow-oom
--[[
  node_acquire-1: lease a free id-generator node number (see model/id_generator.h).
  Node keys are global (one per Redis, not per project), built here from the prefix; they
  share one hash tag in cluster mode, so KEYS[1] (node 0's lease key) routes the call there.

  KEYS[1]  node 0's lease key (keys::node(0)), for routing
  ARGV[1]  prefix    keys::global_prefix(); node n's lease is <prefix>:node:<n>, its clock <prefix>:node:<n>:clock
  ARGV[2]  instance  a random token naming this process
  ARGV[3]  ttl_ms    lease time
  ARGV[4]  nodes     how many node numbers exist
  Returns  {n, clock_ms}: the node leased and the last time (ms) its previous holder renewed
           it (0 if never); or {-1, 0} when every node is taken.
]]
for n = 0, tonumber(ARGV[4]) - 1 do
  local key = ARGV[1] .. ':node:' .. n
  if redis.call('SET', key, ARGV[2], 'NX', 'PX', ARGV[3]) then
    local clock = redis.call('GET', key .. ':clock')
    return {n, tonumber(clock or '0')}
  end
end
return {-1, 0}
