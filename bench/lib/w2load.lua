-- W2-like background load for bench/lateness.sh (LOAD=w2): batch POSTs of DMQ_BATCH (100)
-- messages, each with its own bucket and ~100 bytes of params, like bench/wrk/batch.lua,
-- but with delay_ms DMQ_DELAY_MS (3600000: due in an hour, so the load adds no
-- deliveries during a run) and a per-thread seed so that runs do not repeat bodies.
-- Uses bench/wrk/common.lua (DMQ_WRK_DIR) for the response checks and the WRKJSON line.
-- Usage: DMQ_WRK_DIR=bench/wrk DMQ_PROJECT=bench DMQ_CMD=bench:one:consumer \
--        wrk -t1 -c64 -d10s -s bench/lib/w2load.lua http://127.0.0.1:PORT
local dir = os.getenv("DMQ_WRK_DIR") or "bench/wrk"
local project = os.getenv("DMQ_PROJECT") or "bench"
local cmd = os.getenv("DMQ_CMD") or "bench:one:consumer"
local delay = tonumber(os.getenv("DMQ_DELAY_MS") or "3600000")
-- DMQ_RATE (msg/s, 0: as fast as it goes): each connection waits DMQ_CONNECTIONS × batch /
-- DMQ_RATE s between its requests (wrk's delay()), so the load is at most about DMQ_RATE
local rate = tonumber(os.getenv("DMQ_RATE") or "0")
local conns = tonumber(os.getenv("DMQ_CONNECTIONS") or "64")
check_code = true
expect_ids = tonumber(os.getenv("DMQ_BATCH") or "100")
dofile(dir .. "/common.lua")

local ring, n, i = {}, 64, 0

local function message(k)
  local p = string.format('{\\"order_id\\":\\"%08d\\",\\"user_id\\":%d,\\"amount\\":\\"%d.%02d\\",' ..
    '\\"sku\\":\\"SKU-%05d\\",\\"note\\":\\"bench\\"}', k, k % 999983, k % 10000, k % 100, k % 99991)
  return string.format('{"project":"%s","cmd":"%s","params":"%s",' ..
    '"bucket":"w%d","delay_ms":%d}', project, cmd, p, k, delay)
end

function init(args)
  math.randomseed(os.time())
  local tid = math.random(1, 1e6)
  for r = 1, n do
    local items = {}
    for m = 1, expect_ids do items[m] = message((tid * n + r) * expect_ids + m) end
    ring[r] = wrk.format("POST", "/api/message/batch",
      {["Content-Type"] = "application/json"}, "[" .. table.concat(items, ",") .. "]")
  end
end

function request()
  i = i % n + 1
  return ring[i]
end

if rate > 0 then
  local gap = conns * expect_ids * 1000 / rate
  function delay()
    return gap
  end
end
