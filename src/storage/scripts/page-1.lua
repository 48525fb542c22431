#!lua flags=no-writes,allow-oom
--[[
  page-1: one page of a sorted set of message ids (a consumer's queue or failed list), in
  (score, id) order, from a cursor, optionally keeping only messages whose record matches.
  Read only.

  KEYS[1]  zset     <base>q:<consumer> (score: due ms) or <base>pending:<consumer> (score: s)
  ARGV[1]  base     "<prefix>:{p}:"  records are <base>m:<id>
  ARGV[2]  min      lowest score listed
  ARGV[3]  max      highest score listed
  ARGV[4]  cscore   the cursor's score, '' for the first page
  ARGV[5]  cmember  the cursor's id: the page starts after (cscore, cmember)
  ARGV[6]  limit    most entries answered
  ARGV[7]  cmd      '' or: keep only records of this cmd
  ARGV[8]  q        '' or: keep only records whose request_id or params contain q (plain)
  ARGV[9]  budget   most entries looked at in one call (bounds the time a filter takes)
  Returns  {count in [min, max], {id, score, cmd, request_id, ...}, next cscore or '',
           next cmember or ''}. A next cursor with fewer than limit entries means the budget
           ran out before the range did: ask again from it.
  The cursor is a position, not an offset: entries leaving the set between pages (delivered,
  retried) move no other entry, so nothing is listed twice or skipped.
]]
-- uses record.lua
local key, base = KEYS[1], ARGV[1]
local min, max = ARGV[2], ARGV[3]
local cscore, cmember = ARGV[4], ARGV[5]
local limit, cmd, q, budget = tonumber(ARGV[6]), ARGV[7], ARGV[8], tonumber(ARGV[9])
local count = redis.call('ZCOUNT', key, min, max)

-- bytes_lt orders like a sorted set orders equal scores: by memcmp of the members.
local function bytes_lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- The rank to start from: after the cursor's entry, or the first with score >= min.
local rank
if cscore == '' then
  rank = redis.call('ZCOUNT', key, '-inf', '(' .. min)
else
  local r = redis.call('ZRANK', key, cmember)
  if r and tonumber(redis.call('ZSCORE', key, cmember)) == tonumber(cscore) then
    rank = r + 1
  else  -- the cursor's entry has left: count those before it by (score, member)
    rank = redis.call('ZCOUNT', key, '-inf', '(' .. cscore)
    local off = 0
    while true do
      local same = redis.call('ZRANGE', key, cscore, cscore, 'BYSCORE', 'LIMIT', off, 500)
      local before = 0
      for _, m in ipairs(same) do
        if bytes_lt(m, cmember) then before = before + 1 else break end
      end
      rank = rank + before
      if before < #same or #same < 500 then break end
      off = off + 500
    end
  end
end

local out, looked, last_id, last_score = {}, 0, nil, nil
local maxn = tonumber(max)
local done = false
while not done and #out < 4 * limit and looked < budget do
  local chunk = redis.call('ZRANGE', key, rank, rank + 99, 'WITHSCORES')
  if #chunk == 0 then done = true break end
  for i = 1, #chunk, 2 do
    local id, score = chunk[i], chunk[i + 1]
    if tonumber(score) > maxn then done = true break end
    looked = looked + 1
    rank = rank + 1
    last_id, last_score = id, score
    local t = rec_load(base .. 'm:' .. id)
    local c, rid, params = '', '', ''
    if t then c, rid, params = t[R_CMD], t[R_RID], t[R_PARAMS] end
    local keep = (cmd == '' or c == cmd) and (q == '' or string.find(rid, q, 1, true)
        or string.find(params, q, 1, true))
    if keep then
      out[#out + 1] = id
      out[#out + 1] = score
      out[#out + 1] = c
      out[#out + 1] = rid
      if #out == 4 * limit then break end
    end
    if looked >= budget then break end
  end
end
-- A next cursor unless the range is exhausted.
if done or not last_id then return {count, out, '', ''} end
local more = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
if #more == 0 or tonumber(more[2]) > maxn then return {count, out, '', ''} end
return {count, out, last_score, last_id}
