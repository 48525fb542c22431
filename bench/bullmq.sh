#!/usr/bin/env bash
# BullMQ peer of dmq's benchmark suite (issue 4). See bench/bullmq/README.md.
#
# bench/bullmq.sh w2|w3|w4|w5|memory
#   w2      Queue.addBulk of delayed jobs (100 a call, INFLIGHT calls at once) for DURATION s: jobs/s
#   w3      drain of N due jobs by a Worker (concurrency 100) POSTing to an nginx sink: deliveries/s
#   w4      lateness of 1,000 jobs/s × 10 s delayed 1 s, Worker running (LOAD=w2: W2 load at once)
#   w5      kill -9 of the Worker 1 s into a drain of 20,000 due jobs, restart: lost, duplicates, recovery
#   memory  Redis used_memory per delayed job (100,000 jobs, delay 1 h), breakdown by key
# Installs bullmq into bench/bullmq/node_modules (npm ci) if missing. Starts a private
# redis-server (and nginx for w3-w5) on free loopback ports in a temp dir removed at exit.
# Prints a markdown table, writes bench/results/bullmq-<scenario>-<UTC timestamp>.json,
# and as its last stdout line `RESULT <that path>`.
#
# Knobs (environment): RUNS=3; w2: DURATION=10, INFLIGHT=16, BATCH=100, W2_DELAY_MS=60000;
# w3: N=50000, DRAIN_MAX=300+N/500 (s); w3/w5: DUE_AS=delayed (added with delay 1 ms; `wait`: no delay),
# PRELOAD_BATCH=100, PRELOAD_INFLIGHT=16; worker: CONCURRENCY=100; w4: RATE=1000, SECONDS_=10,
# LATE_BATCH=10, DELAY_MS=1000, LOAD= (w2: run the W2 load into another queue meanwhile);
# w5: W5_N=20000, KILL_AFTER=1 (s after the first delivery), W5_MAX=300;
# memory: MEM_JOBS=100000, MEM_DELAY_MS=3600000; QUIET_MAX=60, QUIET_CORES=0.3, KEEP_TMP=0.
set -euo pipefail
SCENARIO=${1:-}
case $SCENARIO in
  w2|w3|w4|w5|memory) ;;
  *) echo "usage: $0 w2|w3|w4|w5|memory   (see bench/bullmq/README.md)" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BQ="$HERE/bullmq"
BENCH_NAME="bullmq-$SCENARIO"
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
INFLIGHT=${INFLIGHT:-16}
BATCH=${BATCH:-100}
W2_DELAY_MS=${W2_DELAY_MS:-60000}
N=${N:-50000}
DRAIN_MAX=${DRAIN_MAX:-$(( 300 + N / 500 ))}
DUE_AS=${DUE_AS:-delayed}
PRELOAD_BATCH=${PRELOAD_BATCH:-100}
PRELOAD_INFLIGHT=${PRELOAD_INFLIGHT:-16}
CONCURRENCY=${CONCURRENCY:-100}
RATE=${RATE:-1000}
SECONDS_=${SECONDS_:-10}
LATE_BATCH=${LATE_BATCH:-10}
DELAY_MS=${DELAY_MS:-1000}
LOAD=${LOAD:-}
W5_N=${W5_N:-20000}
KILL_AFTER=${KILL_AFTER:-1}
W5_MAX=${W5_MAX:-300}
MEM_JOBS=${MEM_JOBS:-100000}
MEM_DELAY_MS=${MEM_DELAY_MS:-3600000}
QUIET_MAX=${QUIET_MAX:-60}
QUIET_CORES=${QUIET_CORES:-0.3}
KEEP_TMP=${KEEP_TMP:-0}
CPUSAMPLE=(python3 "$HERE/lib/cpusample.py")
SINKLOG=(python3 "$HERE/lib/sinklog.py")

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case $DUE_AS in
  delayed) DUE_DELAY=1 ;;
  wait) DUE_DELAY=0 ;;
  *) die "DUE_AS must be delayed or wait" ;;
esac
[[ -z $LOAD || $LOAD == w2 ]] || die "LOAD must be empty or w2"
for tool in redis-server redis-cli nginx curl python3 node npm; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y nginx-light redis-server curl python3 nodejs npm)"
done

# ---------------------------------------------------------------- bullmq (npm ci, once)
if [[ ! -f $BQ/node_modules/bullmq/package.json ]]; then
  log "installing bullmq into $BQ/node_modules (npm ci)"
  (cd "$BQ" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
fi
NODE=(node)
BULLMQ_VERSION=$(cd "$BQ" && node -p 'require("bullmq/package.json").version')
IOREDIS_VERSION=$(cd "$BQ" && node -p 'require("ioredis/package.json").version')

# ---------------------------------------------------------------- temp dir, cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmq-$BENCH_NAME.XXXXXX")
PIDS=()
WORKER_PID=
cleanup() {
  local rc=$?
  set +e
  [[ -n $WORKER_PID ]] && PIDS+=("$WORKER_PID")
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if (( rc != 0 )); then
    log "failed (exit $rc); last lines of the worker logs:"
    tail -n 10 "$TMP"/worker-*.err >&2 2>/dev/null
  fi
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for() {  # wait_for SECONDS CMD...: retry CMD until it succeeds
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < until )) || return 1
    sleep 0.1
  done
}
settle() {  # wait (at most QUIET_MAX s) for an idle machine; prints {"quiet":..,"busy_cores_before":..}
  local used
  if used=$("${CPUSAMPLE[@]}" quiet "$QUIET_MAX" "$QUIET_CORES"); then
    echo "{\"quiet\":true,\"busy_cores_before\":$used}"
  else
    log "WARNING: machine still busy ($used cores) after ${QUIET_MAX}s; measuring anyway"
    echo "{\"quiet\":false,\"busy_cores_before\":$used}"
  fi
}
now() { date +%s.%N; }

# ---------------------------------------------------------------- redis
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
RCLI=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
wait_for 10 "${RCLI[@]}" ping || die "redis-server did not start (see $TMP/redis.log)"
export REDIS_PORT
REDIS_VERSION=$("${RCLI[@]}" info server | tr -d '\r' | awk -F: '$1=="redis_version"{print $2}')
flush() { "${RCLI[@]}" flushall >/dev/null; }
rget() { "${RCLI[@]}" "$@" | tr -d '\r'; }
used_memory() { "${RCLI[@]}" info memory | tr -d '\r' | awk -F: -v k="$1" '$1==k{print $2}'; }

# ---------------------------------------------------------------- nginx sink (w3, w4, w5)
NGINX_PORT= NGINX_PID= NGINX_WORKER= SINK_LOG=
if [[ $SCENARIO == w[345] ]]; then
  NGINX_PORT=$(free_port)
  SINK_LOG="$TMP/nginx/sink.log"
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $TMP/nginx/body;
  client_body_buffer_size 64k;
  log_format sinkfmt '\$msec \$request_uri \$http_x_dmq_scheduled_at';
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /sink { access_log $SINK_LOG sinkfmt; return 200; }
  }
}
EOF
  nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
  NGINX_PID=$!; PIDS+=("$NGINX_PID")
  wait_for 10 curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$NGINX_PORT/sink/probe" ||
    die "nginx did not start (see $TMP/nginx/error.log)"
  NGINX_WORKER=$(cat "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null | awk '{print $1}')
fi
sink_reset() { : >"$SINK_LOG"; }
sink_lines() { wc -l <"$SINK_LOG"; }
sink_has() { (( $(sink_lines) >= $1 )); }
sink_unique() { awk '{print $2}' "$SINK_LOG" | sort -u | wc -l; }
SINK_URL="http://127.0.0.1:$NGINX_PORT/sink/c1"

# ---------------------------------------------------------------- worker process
# worker_start QUEUE TAG: node worker.js in the background; waits (bounded) for READY
worker_start() {
  "${NODE[@]}" "$BQ/worker.js" "$1" "$CONCURRENCY" "$SINK_URL" >"$TMP/worker-$2.out" 2>"$TMP/worker-$2.err" &
  WORKER_PID=$!
  wait_for 30 grep -q '^READY' "$TMP/worker-$2.out" || die "worker did not become ready (see $TMP/worker-$2.err)"
}
# worker_stop: SIGTERM (the worker closes, waiting for jobs in flight), bounded, then -9
worker_stop() {
  [[ -n $WORKER_PID ]] || return 0
  kill "$WORKER_PID" 2>/dev/null || true
  for _ in $(seq 250); do kill -0 "$WORKER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$WORKER_PID" 2>/dev/null || true
  wait "$WORKER_PID" 2>/dev/null || true
  WORKER_PID=
}
ready_ms() { awk '/^READY/{print $2; exit}' "$TMP/worker-$1.out"; }
worker_counts() { grep '^{' "$TMP/worker-$1.out" | tail -n1 || true; }
# qstate QUEUE: BullMQ's lists/sets of the queue as JSON
qstate() {
  local p="bull:$1"
  printf '{"delayed":%s,"wait":%s,"active":%s,"completed":%s,"failed":%s}' \
    "$(rget zcard "$p:delayed")" "$(rget llen "$p:wait")" "$(rget llen "$p:active")" \
    "$(rget zcard "$p:completed")" "$(rget zcard "$p:failed")"
}

RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "bullmq $BULLMQ_VERSION, node $(node -v), redis $REDIS_VERSION on :$REDIS_PORT${NGINX_PORT:+, nginx sink :$NGINX_PORT}; runs $RUNS"

# ---------------------------------------------------------------- w2
w2_run() {
  local run=$1 out="$TMP/w2-$1" quiet ppid delayed
  flush
  quiet=$(settle)
  "${NODE[@]}" "$BQ/producer.js" bulk bench-w2 "$DURATION" "$INFLIGHT" "$BATCH" "$W2_DELAY_MS" >"$out.json" 2>"$out.err" &
  ppid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$ppid" redis="$REDIS_PID"
  wait "$ppid" || die "producer failed: $(tail -n 5 "$out.err")"
  delayed=$(rget zcard bull:bench-w2:delayed)
  python3 - "$run" "$out.json" "$out.cpu" "$quiet" "$delayed" "$(rget dbsize)" >>"$RECORDS" <<'PY'
import json, sys
run, pf, cf, quiet, delayed, dbsize = sys.argv[1:]
p = json.load(open(pf)); cpu = json.load(open(cf))
cpu["node_producer"] = cpu.pop("load", None)
print(json.dumps({"run": int(run), "jobs_per_s": p["jobs_per_s"], "producer": p,
  "delayed_zcard": int(delayed), "dbsize": int(dbsize), "ok": int(delayed) == p["jobs"],
  "cpu_pct": cpu, "settle": json.loads(quiet)}))
PY
  log "run $run: $(tail -n1 "$RECORDS" | python3 "$BQ/report.py" line "$SCENARIO")"
  (( delayed == $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"])' "$out.json") )) ||
    log "WARNING: run $run: the delayed zset holds $delayed jobs, not the number added"
}

# ---------------------------------------------------------------- w3
# preload QUEUE N IDS OUT: N due jobs (DUE_AS), no worker running; checks Redis holds them
preload_due() {
  local q=$1 n=$2 ids=$3 pre held
  pre=$("${NODE[@]}" "$BQ/producer.js" preload "$q" "$n" "$PRELOAD_BATCH" "$PRELOAD_INFLIGHT" "$DUE_DELAY" "$ids") ||
    die "preload failed"
  held=$(( $(rget zcard "bull:$q:delayed") + $(rget llen "bull:$q:wait") ))
  (( held == n )) || die "after the preload Redis holds $held jobs (delayed + wait), not $n"
  echo "$pre"
}

w3_run() {
  local run=$1 out="$TMP/w3-$1" pre quiet t0 wpid wrc=0 state wcounts
  flush
  sink_reset
  pre=$(preload_due bench-w3 "$N" "$out.ids")
  (( $(sink_lines) == 0 )) || die "the sink got requests before the worker started"
  quiet=$(settle)
  t0=$(now)
  worker_start bench-w3 "w3-$run"
  ( until (( $(sink_lines) >= N )); do
      (( $(date +%s) - ${t0%.*} < DRAIN_MAX )) || exit 1
      kill -0 "$WORKER_PID" 2>/dev/null || exit 2
      sleep 0.1
    done ) &
  wpid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$wpid" worker="$WORKER_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER"
  wait "$wpid" || wrc=$?
  (( wrc != 2 )) || die "the worker died during the drain (see $TMP/worker-w3-$run.err)"
  (( wrc == 0 )) || log "WARNING: run $run: only $(sink_lines) of $N deliveries after ${DRAIN_MAX}s"
  sleep 1.5   # late duplicates would show up here
  state=$(qstate bench-w3)
  worker_stop
  wcounts=$(worker_counts "w3-$run")
  "${SINKLOG[@]}" summary "$SINK_LOG" "$out.ids" c1 "$t0" >"$out.sum"
  [[ $KEEP_TMP == 1 ]] && cp "$SINK_LOG" "$out.sink"
  python3 - "$run" "$pre" "$out.sum" "$out.cpu" "$quiet" "$state" "${wcounts:-null}" "$t0" "$(ready_ms "w3-$run")" >>"$RECORDS" <<'PY'
import json, sys
run, pre, sumf, cpuf, quiet, state, wc, t0, ready = sys.argv[1:]
s = json.load(open(sumf)); st = json.loads(state); cpu = json.load(open(cpuf)); cpu.pop("load", None)
c = s["consumers"]["c1"]
ok = s["ok"] and st["delayed"] == st["wait"] == st["active"] == st["failed"] == 0
print(json.dumps({"run": int(run), "preload": json.loads(pre), "deliveries_per_s": s.get("deliveries_per_s"),
  "span_s": s.get("span_s"), "start_to_first_s": s.get("from_server_start_to_first_s"),
  "start_to_last_s": s.get("from_server_start_to_last_s"),
  "worker_ready_after_s": round(int(ready) / 1000 - float(t0), 3) if ready else None,
  "lost": c["missing"], "duplicates": c["duplicates"], "unexpected": c["unexpected"],
  "queue_after": st, "worker_counts": json.loads(wc), "ok": ok, "sink": s, "cpu_pct": cpu,
  "settle": json.loads(quiet)}))
PY
  log "run $run: $(tail -n1 "$RECORDS" | python3 "$BQ/report.py" line "$SCENARIO")"
}

# ---------------------------------------------------------------- w4
w4_run() {
  local run=$1 out="$TMP/w4-$1" quiet ppid lpid= want state wcounts loadsecs
  flush
  sink_reset
  worker_start bench-w4 "w4-$run"
  quiet=$(settle)
  if [[ $LOAD == w2 ]]; then
    # the W2 load covers the whole paced run and its deliveries (SECONDS_ + DELAY_MS + 2 s)
    loadsecs=$(( SECONDS_ + DELAY_MS / 1000 + 3 ))
    "${NODE[@]}" "$BQ/producer.js" bulk bench-w2load "$loadsecs" "$INFLIGHT" "$BATCH" "$W2_DELAY_MS" >"$out.load" 2>"$out.load.err" &
    lpid=$!; PIDS+=("$lpid")
    sleep 1   # let the load reach its rate before the paced jobs start
  fi
  "${NODE[@]}" "$BQ/producer.js" paced bench-w4 "$RATE" "$SECONDS_" "$LATE_BATCH" "$DELAY_MS" "$out.ids" >"$out.post" 2>"$out.post.err" &
  ppid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$ppid" worker="$WORKER_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER" ${lpid:+loadgen=$lpid}
  wait "$ppid" || die "the paced producer failed: $(tail -n 5 "$out.post.err")"
  want=$(wc -l <"$out.ids")
  wait_for $(( DELAY_MS / 1000 + 30 )) sink_has "$want" ||
    log "WARNING: run $run: only $(sink_lines) of $want deliveries"
  if [[ -n $lpid ]]; then
    wait "$lpid" || die "the W2 load failed: $(tail -n 5 "$out.load.err")"
  fi
  sleep 1.5   # late duplicates would show up here
  state=$(qstate bench-w4)
  worker_stop
  wcounts=$(worker_counts "w4-$run")
  "${SINKLOG[@]}" summary "$SINK_LOG" "$out.ids" c1 >"$out.sum"
  [[ $KEEP_TMP == 1 ]] && cp "$SINK_LOG" "$out.sink"
  python3 - "$run" "$(cat "$out.post")" "$out.sum" "$out.cpu" "$quiet" "$state" "${wcounts:-null}" "$([[ -n $lpid ]] && cat "$out.load" || echo null)" >>"$RECORDS" <<'PY'
import json, sys
run, post, sumf, cpuf, quiet, state, wc, load = sys.argv[1:]
s = json.load(open(sumf)); st = json.loads(state); cpu = json.load(open(cpuf))
cpu["node_producer"] = cpu.pop("load", None)
c = s["consumers"]["c1"]
ok = s["ok"] and st["delayed"] == st["wait"] == st["active"] == st["failed"] == 0
print(json.dumps({"run": int(run), "producer": json.loads(post), "lateness_ms": s["lateness_ms"],
  "lost": c["missing"], "duplicates": c["duplicates"], "unexpected": c["unexpected"],
  "load": json.loads(load), "queue_after": st, "worker_counts": json.loads(wc), "ok": ok, "sink": s,
  "cpu_pct": cpu, "settle": json.loads(quiet)}))
PY
  log "run $run: $(tail -n1 "$RECORDS" | python3 "$BQ/report.py" line "$SCENARIO")"
}

# ---------------------------------------------------------------- w5
all_arrived() { (( $(sink_unique) >= W5_N )); }
w5_run() {
  local run=$1 out="$TMP/w5-$1" pre quiet t0 tkill trestart tall= lines_kill active_kill locks_kill state wc1 wc2 kpid
  flush
  sink_reset
  pre=$(preload_due bench-w5 "$W5_N" "$out.ids")
  quiet=$(settle)
  t0=$(now)
  worker_start bench-w5 "w5-$run-a"
  wait_for 60 sink_has 1 || die "no delivery within 60 s of the worker's start"
  sleep "$KILL_AFTER"
  kpid=$WORKER_PID
  kill -9 "$kpid"; tkill=$(now)
  wait "$kpid" 2>/dev/null || true
  WORKER_PID=
  lines_kill=$(sink_lines)
  # what was in flight: the jobs in BullMQ's active list, and their locks
  rget lrange bull:bench-w5:active 0 -1 >"$out.active"
  active_kill=$(grep -c . "$out.active" || true)
  locks_kill=$("${RCLI[@]}" --scan --pattern 'bull:bench-w5:*:lock' | wc -l)
  log "run $run: killed the worker (-9) after $lines_kill deliveries; $active_kill jobs active, $locks_kill locks"
  trestart=$(now)
  worker_start bench-w5 "w5-$run-b"
  local until=$((SECONDS + W5_MAX))
  while (( SECONDS < until )); do
    if all_arrived; then tall=$(now); break; fi
    kill -0 "$WORKER_PID" 2>/dev/null || die "the restarted worker died (see $TMP/worker-w5-$run-b.err)"
    sleep 0.2
  done
  [[ -n $tall ]] || log "WARNING: run $run: only $(sink_unique) of $W5_N ids after ${W5_MAX}s"
  sleep 1.5   # late duplicates would show up here
  state=$(qstate bench-w5)
  worker_stop
  wc2=$(worker_counts "w5-$run-b")
  "${SINKLOG[@]}" summary "$SINK_LOG" "$out.ids" c1 "$t0" >"$out.sum"
  cp "$SINK_LOG" "$out.sink"
  python3 - "$run" "$pre" "$out.sum" "$quiet" "$state" "${wc2:-null}" "$t0" "$tkill" "$trestart" "${tall:-null}" \
    "$lines_kill" "$out.active" "$locks_kill" "$out.sink" "$(ready_ms "w5-$run-b")" >>"$RECORDS" <<'PY'
import json, sys
from collections import Counter
from urllib.parse import urlsplit, parse_qs
(run, pre, sumf, quiet, state, wc, t0, tkill, trestart, tall, lines_kill, activef, locks, sinkf, ready) = sys.argv[1:]
s = json.load(open(sumf)); st = json.loads(state); c = s["consumers"]["c1"]
t0, tkill, trestart = float(t0), float(tkill), float(trestart)
active = [l.strip() for l in open(activef) if l.strip()]
arr = []
for line in open(sinkf):
    f = line.split()
    if len(f) >= 2:
        arr.append((float(f[0]), parse_qs(urlsplit(f[1]).query).get("msg_id", [""])[0]))
cnt = Counter(i for _, i in arr)
dups = sorted(i for i, n in cnt.items() if n > 1)
aset = set(active)
after = [t for t, i in arr if t > tkill]
act_arr = [t for t, i in arr if i in aset and t > tkill]
first_before_kill = [t for t, i in arr if t <= tkill]
print(json.dumps({"run": int(run), "preload": json.loads(pre),
  "lost": c["missing"], "duplicates": c["duplicates"], "unexpected": c["unexpected"],
  "deliveries_before_kill": int(lines_kill), "active_at_kill": len(active), "locks_at_kill": int(locks),
  "duplicates_in_active_at_kill": sum(1 for i in dups if i in aset),
  "kill_after_start_s": round(tkill - t0, 3),
  "kill_after_first_delivery_s": round(tkill - min(first_before_kill), 3) if first_before_kill else None,
  "restart_to_ready_s": round(int(ready) / 1000 - trestart, 3) if ready else None,
  "restart_to_first_delivery_s": round(min(after) - trestart, 3) if after else None,
  "active_at_kill_first_redelivery_after_kill_s": round(min(act_arr) - tkill, 3) if act_arr else None,
  "recovery_s": round(max(t for t, _ in arr) - tkill, 3) if arr else None,
  "all_arrived_seen_after_kill_s": None if tall == "null" else round(float(tall) - tkill, 3),
  "queue_after": st, "worker_counts_after_restart": json.loads(wc),
  "ok": c["missing"] == 0 and c["unexpected"] == 0, "sink": s, "settle": json.loads(quiet)}))
PY
  log "run $run: $(tail -n1 "$RECORDS" | python3 "$BQ/report.py" line "$SCENARIO")"
}

# ---------------------------------------------------------------- memory
memory_run() {
  local run=$1 out="$TMP/mem-$1" before before_ds after after_ds pre
  flush
  before=$(used_memory used_memory); before_ds=$(used_memory used_memory_dataset)
  pre=$("${NODE[@]}" "$BQ/producer.js" preload bench-mem "$MEM_JOBS" "$PRELOAD_BATCH" "$PRELOAD_INFLIGHT" "$MEM_DELAY_MS" "") ||
    die "adding the jobs failed"
  after=$(used_memory used_memory); after_ds=$(used_memory used_memory_dataset)
  (( $(rget zcard bull:bench-mem:delayed) == MEM_JOBS )) || die "the delayed zset does not hold $MEM_JOBS jobs"
  "${NODE[@]}" "$BQ/memory.js" bench-mem "$MEM_JOBS" >"$out.breakdown" || die "memory.js failed"
  python3 - "$run" "$pre" "$before" "$after" "$before_ds" "$after_ds" "$out.breakdown" "$(rget dbsize)" >>"$RECORDS" <<'PY'
import json, sys
run, pre, b, a, bds, ads, bf, dbsize = sys.argv[1:]
p = json.loads(pre); n = p["jobs"]
print(json.dumps({"run": int(run), "jobs": n, "used_memory_before": int(b), "used_memory_after": int(a),
  "bytes_per_job": round((int(a) - int(b)) / n, 1),
  "dataset_bytes_per_job": round((int(ads) - int(bds)) / n, 1), "dbsize": int(dbsize),
  "preload": p, "breakdown": json.load(open(bf)), "ok": True}))
PY
  log "run $run: $(tail -n1 "$RECORDS" | python3 "$BQ/report.py" line "$SCENARIO")"
}

for run in $(seq "$RUNS"); do
  case $SCENARIO in
    w2) w2_run "$run" ;;
    w3) w3_run "$run" ;;
    w4) w4_run "$run" ;;
    w5) w5_run "$run" ;;
    memory) memory_run "$run" ;;
  esac
done

mkdir -p "$HERE/results"
RESULT="$HERE/results/bullmq-$SCENARIO-$(date -u +%Y%m%dT%H%M%SZ).json"
SETTINGS=$(python3 - <<PY
import json
s = {"runs": $RUNS, "scenario": "$SCENARIO", "worker_concurrency": $CONCURRENCY,
     "worker_options": "BullMQ defaults except concurrency (lockDuration 30000, stalledInterval 30000, maxStalledCount 1, drainDelay 5)",
     "job_options": "BullMQ defaults (attempts 1, removeOnComplete/removeOnFail false) plus delay",
     "job_data": "params object as bench/lib/post.py params(k), ~85-90 bytes of JSON; job name bench:one:consumer",
     "redis": "redis-server --save '' --appendonly no, compiled defaults, 127.0.0.1"}
sc = "$SCENARIO"
if sc == "w2": s.update(duration_s=$DURATION, inflight=$INFLIGHT, batch=$BATCH, delay_ms=$W2_DELAY_MS, producer_processes=1)
if sc in ("w3", "w5"): s.update(due_as="$DUE_AS", due_delay_ms=$DUE_DELAY, preload_batch=$PRELOAD_BATCH, preload_inflight=$PRELOAD_INFLIGHT)
if sc == "w3": s.update(n=$N, drain_max_s=$DRAIN_MAX)
if sc == "w4": s.update(rate=$RATE, seconds=$SECONDS_, batch=$LATE_BATCH, delay_ms=$DELAY_MS, load="$LOAD" or None,
                        load_inflight=$INFLIGHT, load_batch=$BATCH)
if sc == "w5": s.update(n=$W5_N, kill_after_first_delivery_s=$KILL_AFTER, w5_max_s=$W5_MAX)
if sc == "memory": s.update(jobs=$MEM_JOBS, delay_ms=$MEM_DELAY_MS, batch=$PRELOAD_BATCH, inflight=$PRELOAD_INFLIGHT)
print(json.dumps(s))
PY
)
VERSIONS=$(printf '{"bullmq":"%s","ioredis":"%s","node":"%s","redis":"%s","nginx":"%s"}' \
  "$BULLMQ_VERSION" "$IOREDIS_VERSION" "$(node -v)" "$REDIS_VERSION" "$(nginx -v 2>&1 | sed 's/.*nginx\///')")
GIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
python3 "$BQ/report.py" final "$SCENARIO" "$RECORDS" "$RESULT" "$START" "$SETTINGS" "$VERSIONS" "$GIT"
echo "RESULT $RESULT"
