-- W2: 100 messages per POST /api/message/batch (env DMQ_BATCH to change), each with its own
-- bucket and params of ~100 bytes. A ring of 64 prebuilt bodies keeps wrk's CPU low.
-- Usage: wrk -t1 -c64 -d10s -s bench/wrk/batch.lua http://127.0.0.1:PORT
local dir = os.getenv("DMQ_WRK_DIR") or "bench/wrk"
-- the command the messages go to (env DMQ_PROJECT, DMQ_CMD): svs:notice:user has one
-- consumer, sds:create:order two
local project = os.getenv("DMQ_PROJECT") or "sds"
local cmd = os.getenv("DMQ_CMD") or "sds:create:order"
-- or several projects (env DMQ_PROJECTS="p0 p2 p3", bench/scenarios/cluster.sh): the bodies
-- of the ring go to each in turn (one project per batch), to the command
-- "<project>DMQ_CMD_SUFFIX" (":one:consumer" by default)
local projects = {}
for p in string.gmatch(os.getenv("DMQ_PROJECTS") or "", "[^%s,]+") do projects[#projects + 1] = p end
local suffix = os.getenv("DMQ_CMD_SUFFIX") or ":one:consumer"
check_code = true
expect_ids = tonumber(os.getenv("DMQ_BATCH") or "100")
dofile(dir .. "/common.lua")

local ring, n, i = {}, 64, 0

if #projects > 0 then n = #projects * math.floor(n / #projects) end -- the same share each

local function message(k, proj, command)
  local p = string.format('{\\"order_id\\":%08d,\\"user_id\\":%06d,\\"amount\\":\\"%d.%02d\\",' ..
    '\\"sku\\":\\"SKU-%05d\\",\\"note\\":\\"bench\\"}', k, k % 999983, k % 10000, k % 100, k % 99991)
  return string.format('{"project":"%s","cmd":"%s","params":"%s",' ..
    '"bucket":"b%d","delay_ms":60000}', proj, command, p, k)
end

function init(args)
  local tid = math.random(1, 1e6)
  for r = 1, n do
    local items = {}
    local proj, command = project, cmd
    if #projects > 0 then
      proj = projects[(r - 1) % #projects + 1]
      command = proj .. suffix
    end
    for m = 1, expect_ids do items[m] = message((tid * n + r) * expect_ids + m, proj, command) end
    ring[r] = wrk.format("POST", "/api/message/batch",
      {["Content-Type"] = "application/json"}, "[" .. table.concat(items, ",") .. "]")
  end
end

function request()
  i = i % n + 1
  return ring[i]
end
