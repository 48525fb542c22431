-- record.lua: a message and its statuses as ONE Redis STRING, <base>m:<id>.
-- Inserted by cmake/embed_scripts.cmake where a script says "-- uses record.lua";
-- src/storage/record.h reads and writes the same format in C++ (docs/storage.md).
--
-- The string is a list of fields, each written "<length in bytes>:<bytes>", in this order:
--   1 due_ms  2 create_ms  3 data_expire_at_ms  4 cmd  5 bucket  6 request_id  7 params
--   then per consumer of the cmd (from 8 on): name, status, attempts
-- A length prefix, not a separator, so every byte of a field is data (":", newlines, ...).
-- One STRING instead of two HASHes: a params longer than 64 bytes turns a HASH into a
-- hashtable (Redis's hash-max-listpack-value), which tripled its memory.
local R_DUE, R_CT, R_DX, R_CMD, R_BUCKET, R_RID, R_PARAMS, R_FIRST = 1, 2, 3, 4, 5, 6, 7, 8

local sfind, ssub, sfmt = string.find, string.sub, string.format

-- rec_decode returns the fields of s, and where each field starts in s (its length prefix;
-- entry #t + 1 is #s + 1), for rec_put.
local function rec_decode(s)
  local t, at, pos, n, k = {}, {}, 1, #s, 0
  while pos <= n do
    local colon = sfind(s, ':', pos, true)
    if not colon then break end
    local len = tonumber(ssub(s, pos, colon - 1))
    k = k + 1
    t[k], at[k] = ssub(s, colon + 1, colon + len), pos
    pos = colon + len + 1
  end
  at[k + 1] = pos
  return t, at
end

local function rec_encode(t)
  local parts = {}
  for i = 1, #t do parts[i] = sfmt('%d:', #t[i]) .. t[i] end
  return table.concat(parts)
end

-- A record's key holding the empty string is a tombstone: store::settle wrote it where a
-- save's outcome was unknown and the producer was told "not saved"; a save arriving later
-- (SET NX) then stores nothing. A tombstone is no record.
local function rec_get(key)
  local s = redis.call('GET', key)
  if s and s ~= '' then return s end
  return nil
end

-- rec_load returns the decoded record at key (and where its fields start), or nil if there
-- is none.
local function rec_load(key)
  local s = rec_get(key)
  if s then return rec_decode(s) end
  return nil
end

-- rec_store writes t back, keeping the key's expiry.
local function rec_store(key, t)
  redis.call('SET', key, rec_encode(t), 'KEEPTTL')
end

-- rec_status_at returns the index of consumer's status in t (its attempts follow), or nil.
local function rec_status_at(t, consumer)
  for i = R_FIRST, #t - 2, 3 do
    if t[i] == consumer then return i + 1 end
  end
  return nil
end

-- rec_find returns, for consumer's entry in the record string s: where its status field
-- starts, the status, the attempts, and where the field after the attempts starts; nil if
-- s has no entry for consumer. It skips the other fields without copying them, so an ack
-- does not pay for decoding the params.
local function rec_find(s, consumer)
  local pos, n, k, want = 1, #s, 0, #consumer
  while pos <= n do
    local colon = sfind(s, ':', pos, true)
    if not colon then return nil end
    local len = tonumber(ssub(s, pos, colon - 1))
    local nxt = colon + len + 1
    k = k + 1
    if k >= R_FIRST and (k - R_FIRST) % 3 == 0 and len == want
        and ssub(s, colon + 1, nxt - 1) == consumer then
      colon = sfind(s, ':', nxt, true)
      if not colon then return nil end
      len = tonumber(ssub(s, nxt, colon - 1))
      local status = ssub(s, colon + 1, colon + len)
      local from, pos2 = nxt, colon + len + 1
      colon = sfind(s, ':', pos2, true)
      if not colon then return nil end
      len = tonumber(ssub(s, pos2, colon - 1))
      return from, status, ssub(s, colon + 1, colon + len), colon + len + 1
    end
    pos = nxt
  end
  return nil
end

-- rec_put writes the record string s back with the status and attempts (strings) that
-- start at from and end before to (as rec_decode's positions or rec_find's) replaced,
-- keeping the key's expiry. Only those two fields are encoded again.
local function rec_put(key, s, from, to, status, attempts)
  redis.call('SET', key, ssub(s, 1, from - 1) .. sfmt('%d:%s%d:%s', #status, status,
    #attempts, attempts) .. ssub(s, to), 'KEEPTTL')
end

-- rec_release gives a delivery's last attempt back (its claim is undone: a shutdown, or a
-- claim whose answer was lost): attempts - 1, and with none left the status is "waiting"
-- again. mkey's record string is s (nil: nothing to do).
local function rec_release(mkey, s, consumer)
  if not s then return end
  local from, status, attempts, to = rec_find(s, consumer)
  if not from then return end
  local n = math.max(0, tonumber(attempts) - 1)
  if n == 0 and status == 'doing' then status = 'waiting' end
  rec_put(mkey, s, from, to, status, string.format('%d', n))
end
