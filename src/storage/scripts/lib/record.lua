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

local function rec_decode(s)
  local t, pos, n = {}, 1, #s
  while pos <= n do
    local colon = string.find(s, ':', pos, true)
    if not colon then break end
    local len = tonumber(string.sub(s, pos, colon - 1))
    t[#t + 1] = string.sub(s, colon + 1, colon + len)
    pos = colon + len + 1
  end
  return t
end

local function rec_encode(t)
  local parts = {}
  for i = 1, #t do parts[i] = #t[i] .. ':' .. t[i] end
  return table.concat(parts)
end

-- rec_load returns the decoded record at key, or nil if there is none.
local function rec_load(key)
  local s = redis.call('GET', key)
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
