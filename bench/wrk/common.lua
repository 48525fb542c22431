-- Shared by the bench/wrk/*.lua scripts: checks every response and reports in done().
-- A script sets `check_code` (true: the body must carry "code":0) and optionally
-- `expect_ids` (ids expected in data per response; checked on every 64th response),
-- then calls dofile on this file.
--
-- done() prints one line "WRKJSON {...}" that bench/ingest.sh parses:
-- requests, duration_s, rps, latency p50/p99/max (ms), socket errors, non-2xx,
-- bad_code (2xx whose body is not "code":0), bad_ids (wrong id count in a batch answer).

local threads = {}
bad_status, bad_code, bad_ids, seen, first_bad = 0, 0, 0, 0, nil

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  seen = seen + 1
  if status < 200 or status > 299 then
    bad_status = bad_status + 1
    if not first_bad then first_bad = status .. " " .. tostring(body):sub(1, 200) end
    return
  end
  if check_code then
    if not body or not body:find('"code":%s*0[,}]') then
      bad_code = bad_code + 1
      if not first_bad then first_bad = status .. " " .. tostring(body):sub(1, 200) end
      return
    end
    if expect_ids and seen % 64 == 0 then
      local data = body:match('"data":%s*(%b[])')
      local n = 0
      if data then for _ in data:gmatch("%d+") do n = n + 1 end end
      if n ~= expect_ids then
        bad_ids = bad_ids + 1
        if not first_bad then first_bad = "ids=" .. n .. " " .. body:sub(1, 200) end
      end
    end
  end
end

local function esc(s)
  return (tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end))
end

function done(summary, latency, requests)
  local bs, bc, bi, fb = 0, 0, 0, nil
  for _, t in ipairs(threads) do
    bs = bs + (t:get("bad_status") or 0)
    bc = bc + (t:get("bad_code") or 0)
    bi = bi + (t:get("bad_ids") or 0)
    fb = fb or t:get("first_bad")
  end
  local e = summary.errors
  local dur = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"wrk_non2xx":%d,"bad_status":%d,"bad_code":%d,"bad_ids":%d,"first_bad":%s}\n',
    summary.requests, dur, summary.requests / dur,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status, bs, bc, bi,
    fb and ('"' .. esc(fb) .. '"') or "null"))
end
