-- W1: one message per POST /api/message/single. Bodies are prebuilt (a ring of 4096,
-- each with its own bucket and params of ~100 bytes) so wrk spends little CPU per request.
-- Usage: wrk -t1 -c64 -d10s -s bench/wrk/single.lua http://127.0.0.1:PORT
local dir = os.getenv("DMQ_WRK_DIR") or "bench/wrk"
-- the command the messages go to (env DMQ_PROJECT, DMQ_CMD): svs:notice:user has one
-- consumer, sds:create:order two
local project = os.getenv("DMQ_PROJECT") or "sds"
local cmd = os.getenv("DMQ_CMD") or "sds:create:order"
check_code = true
dofile(dir .. "/common.lua")

local ring, n, i = {}, 4096, 0

local function params(k)
  -- ~100 bytes of JSON carried as a string, as producers send it
  return string.format('{\\"order_id\\":%08d,\\"user_id\\":%06d,\\"amount\\":\\"%d.%02d\\",' ..
    '\\"sku\\":\\"SKU-%05d\\",\\"note\\":\\"bench\\"}', k, k % 999983, k % 10000, k % 100, k % 99991)
end

function message(k)
  return string.format('{"project":"%s","cmd":"%s","params":"%s",' ..
    '"bucket":"b%d","delay_ms":60000}', project, cmd, params(k), k)
end

function init(args)
  local tid = math.random(1, 1e6)
  for k = 1, n do
    ring[k] = wrk.format("POST", "/api/message/single",
      {["Content-Type"] = "application/json"}, message(tid * n + k))
  end
end

function request()
  i = i % n + 1
  return ring[i]
end
