-- record.lua: a message and its statuses as ONE Redis STRING, <base>m:<id>.
-- Inserted by cmake/embed_scripts.cmake where a script says "-- uses record.lua";
-- src/storage/record.h reads and writes the same format in C++ (docs/storage.md).
--
-- The string is a list of fields, each written "<length in bytes>:<bytes>". Two versions:
--   v2 (dmq writes it since 2026-12-05), first byte '~':
--     "~<due>,<due - create>,<data expiry - due>," (ms, signed base-36 numbers), then
--     cmd, bucket, request_id, params, then per consumer: name, state = a status letter
--     (REC_STATUS) followed by the attempts in decimal ("w0", "d1", "f5")
--   v1 (older records), first byte a digit:
--     due_ms, create_ms, data_expire_at_ms (decimal), cmd, bucket, request_id, params,
--     then per consumer: name, status, attempts
-- Both are read. rec_decode gives the scripts one layout whatever the version (v1's:
-- R_DUE .. R_PARAMS, then name, status, attempts per consumer from R_FIRST, numbers as
-- decimal strings, statuses spelt out); rec_encode writes v2; rec_put keeps the version
-- of the string it splices into.
-- A length prefix, not a separator, so every byte of a field is data (":", newlines, ...).
-- One STRING instead of two HASHes: a params longer than 64 bytes turns a HASH into a
-- hashtable (Redis's hash-max-listpack-value), which tripled its memory.
local R_DUE, R_CT, R_DX, R_CMD, R_BUCKET, R_RID, R_PARAMS, R_FIRST = 1, 2, 3, 4, 5, 6, 7, 8

local sfind, ssub, sfmt, sbyte, smatch = string.find, string.sub, string.format, string.byte,
  string.match
local REC_STATUS = {w = 'waiting', d = 'doing', o = 'done', f = 'failure', c = 'cancelled'}
local REC_LETTER = {waiting = 'w', doing = 'd', done = 'o', failure = 'f', cancelled = 'c'}
local REC_V2 = 126  -- '~'

-- rec_num36 reads a signed base-36 number (Lua's tonumber takes no sign in base 36).
local function rec_num36(x)
  if sbyte(x, 1) == 45 then return -tonumber(ssub(x, 2), 36) end
  return tonumber(x, 36)
end

local REC_DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'
-- rec_b36 writes an integer n (|n| < 2^53) in base 36.
local function rec_b36(n)
  if n < 0 then return '-' .. rec_b36(-n) end
  local d, k = {}, 0
  repeat
    local r = n % 36
    k = k + 1
    d[k] = ssub(REC_DIGITS, r + 1, r + 1)
    n = (n - r) / 36
  until n == 0
  return string.reverse(table.concat(d))
end

-- rec_decode returns the fields of s in v1's layout, and where each field starts in s (its
-- length prefix; entry #t + 1 is #s + 1), for rec_put: of a consumer's status and attempts
-- (the index rec_status_at returns and the one after it) both give where the consumer's
-- status starts (v2 keeps the two in one field), and the entry after them where its
-- attempts end.
local function rec_decode(s)
  local t, at, pos, n, k = {}, {}, 1, #s, 0
  if sbyte(s, 1) == REC_V2 then
    local due, ct, dx, p = smatch(s, '^~(%-?%w+),(%-?%w+),(%-?%w+),()')
    if not due then return t, {1} end  -- not a record: no consumer in it
    local d = rec_num36(due)
    t[1], t[2], t[3] = sfmt('%d', d), sfmt('%d', d - rec_num36(ct)), sfmt('%d', d + rec_num36(dx))
    at[1], at[2], at[3], k, pos = 1, 1, 1, 3, p
    local f = 0
    while pos <= n do
      local colon = sfind(s, ':', pos, true)
      if not colon then break end
      local len = tonumber(ssub(s, pos, colon - 1))
      f = f + 1
      if f > 4 and f % 2 == 0 then  -- a consumer's state: its status letter, its attempts
        local letter = ssub(s, colon + 1, colon + 1)
        t[k + 1], t[k + 2] = REC_STATUS[letter] or letter, ssub(s, colon + 2, colon + len)
        at[k + 1], at[k + 2] = pos, pos
        k = k + 2
      else
        k = k + 1
        t[k], at[k] = ssub(s, colon + 1, colon + len), pos
      end
      pos = colon + len + 1
    end
    at[k + 1] = pos
    return t, at
  end
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

-- rec_encode writes t (v1's layout, as rec_decode gives it) as a v2 record; as v1 if a
-- status has no letter (dmq writes none such).
local function rec_encode(t)
  local parts = {}
  for i = R_FIRST + 1, #t - 1, 3 do
    if not REC_LETTER[t[i]] then
      for j = 1, #t do parts[j] = sfmt('%d:', #t[j]) .. t[j] end
      return table.concat(parts)
    end
  end
  local due = tonumber(t[R_DUE])
  parts[1] = sfmt('~%s,%s,%s,', rec_b36(due), rec_b36(due - tonumber(t[R_CT])),
    rec_b36(tonumber(t[R_DX]) - due))
  for i = R_CMD, R_PARAMS do parts[i - 2] = sfmt('%d:', #t[i]) .. t[i] end
  local k = 5
  for i = R_FIRST, #t - 2, 3 do
    local attempts = t[i + 2]
    parts[k + 1] = sfmt('%d:%s%d:%s%s', #t[i], t[i], #attempts + 1, REC_LETTER[t[i + 1]], attempts)
    k = k + 1
  end
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

-- rec_store writes t back (as v2), keeping the key's expiry.
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
  -- v1: consumers' names are fields 8, 11, ...; v2: fields 5, 7, ... after the header
  local first, step = R_FIRST, 3
  if sbyte(s, 1) == REC_V2 then
    pos = smatch(s, '^~[^,]*,[^,]*,[^,]*,()')
    if not pos then return nil end
    first, step = 5, 2
  end
  while pos <= n do
    local colon = sfind(s, ':', pos, true)
    if not colon then return nil end
    local len = tonumber(ssub(s, pos, colon - 1))
    local nxt = colon + len + 1
    k = k + 1
    if k >= first and (k - first) % step == 0 and len == want
        and ssub(s, colon + 1, nxt - 1) == consumer then
      colon = sfind(s, ':', nxt, true)
      if not colon then return nil end
      len = tonumber(ssub(s, nxt, colon - 1))
      if step == 2 then
        local letter = ssub(s, colon + 1, colon + 1)
        return nxt, REC_STATUS[letter] or letter, ssub(s, colon + 2, colon + len), colon + len + 1
      end
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
-- keeping the key's expiry and s's version. Only those are encoded again.
local function rec_put(key, s, from, to, status, attempts)
  local mid
  if sbyte(s, 1) == REC_V2 then
    local letter = REC_LETTER[status] or (#status == 1 and status)
    if not letter then error('record.lua: no v2 letter for status ' .. status) end
    mid = sfmt('%d:%s%s', #attempts + 1, letter, attempts)
  else
    mid = sfmt('%d:%s%d:%s', #status, status, #attempts, attempts)
  end
  redis.call('SET', key, ssub(s, 1, from - 1) .. mid .. ssub(s, to), 'KEEPTTL')
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
