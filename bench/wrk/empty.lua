-- Ceiling: the same wrk settings against nginx `return 200` (GET, no body); only the
-- status is checked. Usage: wrk -t1 -c64 -d10s -s bench/wrk/empty.lua http://127.0.0.1:PORT/
local dir = os.getenv("DMQ_WRK_DIR") or "bench/wrk"
check_code = false
dofile(dir .. "/common.lua")
