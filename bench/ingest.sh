#!/usr/bin/env bash
# Ingest benchmark of dmq (issue 2). See bench/README.md.
#
# Starts a private redis-server, a `dmq client` and an nginx `return 200`, all on free
# loopback ports, then runs RUNS rounds; each round measures, in this order:
#   nginx        wrk against nginx `return 200`                    (HTTP ceiling for W1)
#   W1 single    wrk POST /api/message/single, 1 message a request, one consumer
#                (svs:notice:user); W1_2c the same for two consumers (sds:create:order)
#   redis save-1 100 msg/call, unpipelined and -P 16               (Redis ceiling for W2)
#   W2 batch     wrk POST /api/message/batch, 100 messages a request, one consumer
#   redis save-1 100 msg/call, two consumers, unpipelined and -P 16 (ceiling for W2_2c)
#   W2_2c        the batch for two consumers
#   redis save-1 1 msg/call, one consumer, unpipelined and -P 16
# Redis is emptied before every measurement; after each Redis ceiling the script checks
# that it created a new message per message sent. Prints a markdown table (median
# (min-max) over the rounds) and writes bench/results/ingest-<timestamp>.json.
#
# Knobs (environment): RUNS=3, DURATION=10 (s per measurement), CONNECTIONS=64 and
# THREADS=1 (wrk), BATCH=100, RB_CLIENTS=50 and RB_PIPELINE=16 (redis-benchmark),
# WARMUP=2 (s), QUIET_MAX=60 and QUIET_CORES=0.3 (wait before each measurement until other
# processes use < QUIET_CORES cores, at most QUIET_MAX s), DMQ_BIN=build/dmq,
# BUILD=0 (1: cmake + ninja first; off by default so as not to race another build),
# KEEP_TMP=0 (1: keep the temp dir with logs and raw outputs).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
BATCH=${BATCH:-100}
RB_CLIENTS=${RB_CLIENTS:-50}
RB_PIPELINE=${RB_PIPELINE:-16}
WARMUP=${WARMUP:-2}
BUILD=${BUILD:-0}
DMQ_BIN=${DMQ_BIN:-$ROOT/build/dmq}
KEEP_TMP=${KEEP_TMP:-0}
export DMQ_WRK_DIR="$HERE/wrk" DMQ_BATCH="$BATCH"

log() { printf '[ingest %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in wrk redis-server redis-cli redis-benchmark nginx curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y wrk nginx-light redis-server curl python3)"
done
(( DURATION >= 3 )) || die "DURATION must be at least 3 s"

if [[ $BUILD == 1 ]]; then
  log "building dmq"
  if ! out=$(cd "$ROOT" && { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
      ninja -C build dmq; } 2>&1); then
    printf '%s\n' "$out" | grep -v -i warning | tail -n 30 >&2
    die "build failed"
  fi
fi
[[ -x $DMQ_BIN ]] || die "$DMQ_BIN not found"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmq-bench.XXXXXX")
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if (( rc != 0 )); then
    log "failed (exit $rc); last lines of the dmq log:"
    tail -n 20 "$TMP/dmq.log" >&2 2>/dev/null
  fi
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}

child_named() {  # child_named PID NAME: the pid of PID's child (or grandchild) called NAME
  local c g
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    [[ $(cat "/proc/$c/comm" 2>/dev/null) == "$2" ]] && { echo "$c"; return; }
    for g in $(cat /proc/"$c"/task/*/children 2>/dev/null); do
      [[ $(cat "/proc/$g/comm" 2>/dev/null) == "$2" ]] && { echo "$g"; return; }
    done
  done
}

find_child() {  # find_child PID NAME: child_named, retried for up to 3 s while it starts
  local c
  for _ in $(seq 60); do
    c=$(child_named "$1" "$2")
    [[ -n $c ]] && { echo "$c"; return; }
    sleep 0.05
  done
}

wait_for() {  # wait_for SECONDS CMD...: retry CMD until it succeeds
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < until )) || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- redis
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
RCLI=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
wait_for 10 "${RCLI[@]}" ping || die "redis-server did not start (see $TMP/redis.log)"

# Empties Redis (FLUSHALL) but keeps dmq's id-generator lease keys, atomically: without
# them dmq would see its lease lost at its next renewal and refuse ids until it re-leases.
FLUSH_LUA="local keep={} for n=0,31 do local k=ARGV[1]..':node:'..n local v=redis.call('GET',k)
if v then keep[#keep+1]={k,v,redis.call('PTTL',k),redis.call('GET',k..':clock')} end end
redis.call('FLUSHALL')
for _,e in ipairs(keep) do redis.call('SET',e[1],e[2],'PX',math.max(e[3],1000))
if e[4] then redis.call('SET',e[1]..':clock',e[4]) end end return #keep"
flush() { "${RCLI[@]}" eval "$FLUSH_LUA" 0 dmq >/dev/null; "${RCLI[@]}" config resetstat >/dev/null; }
# stored_msgs: messages in Redis: each is one expiring record (docs/storage.md), and the
# only other expiring keys are dmq's id-node leases (dmq:node:<n>)
stored_msgs() {
  local e leases
  e=$("${RCLI[@]}" info keyspace | sed -n 's/.*expires=\([0-9]*\).*/\1/p')
  leases=$("${RCLI[@]}" --scan --pattern 'dmq:node:*' | grep -vc ':clock$' || true)
  echo $(( ${e:-0} - ${leases:-0} ))
}
# dmq_log_counts: "errors warnings" lines in dmq's log so far
dmq_log_counts() {
  echo "$(grep -c ' error ' "$TMP/dmq.log" || true) $(grep -c ' warning ' "$TMP/dmq.log" || true)"
}
# cmdstats FILE: Redis' per-command counters since the last flush, as JSON
cmdstats() {
  "${RCLI[@]}" info commandstats | python3 -c '
import json, re, sys
out = {}
for l in sys.stdin:
    m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)", l)
    if m and m.group(1) not in ("config", "info"):
        out[m.group(1)] = {"calls": int(m.group(2)), "usec": int(m.group(3)),
                           "usec_per_call": float(m.group(4))}
print(json.dumps(out))' >"$1"
}

# ---------------------------------------------------------------- dmq client
HTTP_PORT=$(free_port)
CFG="$TMP/config"
mkdir -p "$CFG/commands"
cat >"$CFG/config.yaml" <<EOF
http_port: $HTTP_PORT
http:
  listen: 127.0.0.1
product_list:
  - project: svs
    allow_ip: [127.0.0.1]
  - project: sds
    allow_ip: [127.0.0.1]
msg_save_days: 4
request_trace_id_key: Request-Id
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
  db: 0
  read_timeout: 1
  write_timeout: 1
command_list:
  - cmd-sds-create-order.yaml
  - cmd-svs-notice-user.yaml
limits:
  max_batch_items: 1000
log:
  level: warn
EOF
cat >"$CFG/commands/cmd-sds-create-order.yaml" <<'EOF'
project: sds
command: sds:create:order
consumer_list:
  - host: 127.0.0.1:1
    name: dgfa
    path: /api/mytest/test/createorder
    timeout: 600
    retry_times: 3
    interval: 500
  - host: 127.0.0.1:1
    name: fghyds
    path: /api/mytest/test/createorder
    timeout: 600
    retry_times: 2
    interval: 300
EOF
cat >"$CFG/commands/cmd-svs-notice-user.yaml" <<'EOF'
project: svs
command: svs:notice:user
consumer_list:
  - host: 127.0.0.1:1
    name: wet234
    path: /api/mytest/test/noticeuser
    timeout: 600
    retry_times: 3
    interval: 300
EOF
# run a private copy, so that a rebuild of build/dmq during the benchmark does not touch it
for _ in $(seq 120); do
  [[ -x $DMQ_BIN ]] && cp "$DMQ_BIN" "$TMP/dmq" 2>/dev/null && "$TMP/dmq" --help >/dev/null 2>&1 && break
  log "waiting for $DMQ_BIN (being rebuilt?)"; sleep 1
done
"$TMP/dmq" client "$CFG" >"$TMP/dmq.log" 2>&1 &
DMQ_PID=$!; PIDS+=("$DMQ_PID")
DMQ_URL="http://127.0.0.1:$HTTP_PORT"
wait_for 20 curl -fsS -m 1 "$DMQ_URL/healthz" || die "dmq did not become healthy"

# smoke test: one single and one batch answer code 0 with the right number of ids
ONE='{"project":"sds","cmd":"sds:create:order","params":"{\"k\":1}","bucket":"smoke","delay_ms":60000}'
ans=$(curl -sS -m 5 -H 'Content-Type: application/json' -d "$ONE" "$DMQ_URL/api/message/single")
[[ $ans =~ \"code\":0[,}] ]] || die "single smoke request answered: $ans"
ans=$(curl -sS -m 5 -H 'Content-Type: application/json' -d "[$ONE,$ONE]" "$DMQ_URL/api/message/batch")
[[ $ans =~ \"code\":0[,}] ]] || die "batch smoke request answered: $ans"

# ---------------------------------------------------------------- nginx
NGINX_PORT=$(free_port)
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
  client_body_temp_path $TMP/nginx/body;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200; }
  }
}
EOF
nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
NGINX_URL="http://127.0.0.1:$NGINX_PORT/"
wait_for 10 curl -fsS -m 1 "$NGINX_URL" || die "nginx did not start (see $TMP/nginx/error.log)"
NGINX_WORKER=$(cat "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null | awk '{print $1}')

# ---------------------------------------------------------------- save-1 ceilings
# The Redis ceiling replays the very save call dmq makes: MONITOR Redis while dmq stores
# one single message and one batch of BATCH messages, then give those argument lists to
# redis-benchmark with every message id replaced by __rand_int__ (lib/capture.py). So the
# ceiling follows save-1's signature and dmq's key layout whatever they become.
CAPTURE=(python3 "$HERE/lib/capture.py")
# line-buffered, so that killing redis-cli below loses none of the calls it printed
stdbuf -oL "${RCLI[@]}" monitor >"$TMP/monitor.txt" 2>&1 &
MON_PID=$!; PIDS+=("$MON_PID")
wait_for 10 grep -q OK "$TMP/monitor.txt" || die "redis-cli monitor did not start"
post_ids() {  # post_ids PATH BODY: the ids dmq answered, comma separated
  curl -sS -m 10 -H 'Content-Type: application/json' --data-binary @- "$DMQ_URL$1" <<<"$2" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); d=r["data"]
if r.get("code")!=0: sys.exit("dmq answered %r" % r)
print(",".join(str(x) for x in (d if isinstance(d,list) else [d])))'
}
# one consumer: svs:notice:user (wet234), the main case; two: sds:create:order
P1=(svs svs:notice:user) P2=(sds sds:create:order)
ONE_IDS=$(post_ids /api/message/single "$(DMQ_PROJECT=${P1[0]} DMQ_CMD=${P1[1]} "${CAPTURE[@]}" body single)") || die "single request failed"
BATCH_IDS=$(post_ids /api/message/batch "$(DMQ_PROJECT=${P1[0]} DMQ_CMD=${P1[1]} "${CAPTURE[@]}" body batch "$BATCH")") || die "batch request failed"
BATCH2_IDS=$(post_ids /api/message/batch "$(DMQ_PROJECT=${P2[0]} DMQ_CMD=${P2[1]} "${CAPTURE[@]}" body batch "$BATCH")") || die "batch request (2 consumers) failed"
sleep 0.3
kill "$MON_PID"; wait "$MON_PID" 2>/dev/null || true
mapfile -d '' RB_ONE < <("${CAPTURE[@]}" call "$TMP/monitor.txt" "$ONE_IDS") ||
  die "no save call with id $ONE_IDS in $TMP/monitor.txt"
mapfile -d '' RB_BATCH < <("${CAPTURE[@]}" call "$TMP/monitor.txt" "$BATCH_IDS") ||
  die "no single save call carried the $BATCH ids of the batch (see $TMP/monitor.txt)"
mapfile -d '' RB_BATCH2 < <("${CAPTURE[@]}" call "$TMP/monitor.txt" "$BATCH2_IDS") ||
  die "no single save call carried the $BATCH ids of the 2-consumer batch (see $TMP/monitor.txt)"
(( ${#RB_ONE[@]} > 3 && ${#RB_BATCH[@]} > 3 && ${#RB_BATCH2[@]} > 3 )) || die "could not capture dmq's save calls"
printf '%s\n' "${RB_ONE[@]}" >"$TMP/save-one.args"
# check that the replayed calls store messages (__rand_int__ taken literally here)
r=$("${RCLI[@]}" "${RB_ONE[@]}") && [[ $r == 1 ]] || die "replayed single save answered: $r"
r=$("${RCLI[@]}" "${RB_BATCH[@]}") && [[ $r == "$BATCH" ]] || die "replayed batch save answered: $r"
r=$("${RCLI[@]}" "${RB_BATCH2[@]}") && [[ $r == "$BATCH" ]] || die "replayed 2-consumer batch save answered: $r"
log "save call: ${RB_ONE[0]} ${RB_ONE[1]:0:12}… ${#RB_ONE[@]} arguments for 1 message, ${#RB_BATCH[@]} for $BATCH (1 consumer), ${#RB_BATCH2[@]} for $BATCH (2 consumers)"
flush

# rb CALLS PIPELINE ARGS...: runs redis-benchmark, prints calls/s.
# -r must fit in a C int: redis-benchmark parses it with atoi(), and 10^12 wraps to a
# negative number that it clamps to 0, so every __rand_int__ became 000000000000 and each
# call overwrote the same message (the ceilings before 2026-11-24 12:00 were measured
# that way). With 2^31-1 the ids come from random() (0..2^31-1), so a 10 s ceiling of
# ~10^6 messages repeats ~0.03% of its ids; rb_run checks the count of stored messages.
RB_KEYSPACE=2147483647
rb() {
  local n=$1 p=$2; shift 2
  timeout $((DURATION * 4 + 30)) redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -n "$n" \
    -c "$RB_CLIENTS" -P "$p" -r "$RB_KEYSPACE" --csv "$@" 2>/dev/null |
    python3 -c 'import sys; print(sys.stdin.read().strip().splitlines()[-1].strip().strip("\"").split("\",\"")[-7])'
}

# ---------------------------------------------------------------- measurement
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
CPUSAMPLE=(python3 "$HERE/lib/cpusample.py")
QUIET_MAX=${QUIET_MAX:-60}
QUIET_CORES=${QUIET_CORES:-0.3}

# before each measurement: wait (at most QUIET_MAX s) until other processes leave the
# machine idle (< QUIET_CORES cores busy), so a neighbour's compile does not count as ours
settle() {
  local used
  if used=$("${CPUSAMPLE[@]}" quiet "$QUIET_MAX" "$QUIET_CORES"); then
    echo "{\"quiet\":true,\"busy_cores_before\":$used}"
  else
    log "WARNING: machine still busy ($used cores) after ${QUIET_MAX}s; measuring anyway"
    echo "{\"quiet\":false,\"busy_cores_before\":$used}"
  fi
}

# measure OUT LOADPID: CPU of our processes while LOADPID runs (see lib/cpusample.py)
measure() {
  "${CPUSAMPLE[@]}" sample "$1" "${2:-0}" dmq="$DMQ_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER"
}

# wrk_run NAME RUN URL SCRIPT MSGS_PER_REQUEST [PROJECT CMD]
wrk_run() {
  local name=$1 run=$2 url=$3 script=$4 per=$5 out="$TMP/$1-$2" tpid wpid stored=null quiet
  flush
  quiet=$(settle)
  local logs0 logs1
  logs0=($(dmq_log_counts))
  DMQ_PROJECT=${6:-svs} DMQ_CMD=${7:-svs:notice:user} timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
    -s "$HERE/wrk/$script" "$url" >"$out.wrk" 2>&1 &
  tpid=$!
  wpid=$(find_child "$tpid" wrk)
  [[ -n $wpid ]] || log "WARNING: wrk's pid not found; no CPU figures for $name run $run"
  measure "$out.cpu" "$wpid"
  wait "$tpid" || die "wrk failed for $name: $(cat "$out.wrk")"
  cmdstats "$out.cmd"
  logs1=($(dmq_log_counts))
  [[ $url == "$DMQ_URL"* ]] && stored=$(stored_msgs)
  python3 - "$name" "$run" "$per" "$stored" "$out.wrk" "$out.cpu" "$quiet" "$out.cmd" \
    $((logs1[0] - logs0[0])) $((logs1[1] - logs0[1])) >>"$RECORDS" <<'PY'
import json, sys
name, run, per, stored, wrkf, cpuf, quiet, cmdf, lerr, lwarn = sys.argv[1:]
line = [l for l in open(wrkf) if l.startswith("WRKJSON ")]
if not line:
    sys.exit("no WRKJSON line in wrk output:\n" + open(wrkf).read())
w = json.loads(line[-1][8:])
per = int(per)
ok = w["requests"] - w["bad_status"] - w["bad_code"] - sum(w["socket_errors"].values())
print(json.dumps({"scenario": name, "run": int(run), "kind": "wrk",
  "msgs_per_s": round(w["rps"] * per, 1), "calls_per_s": w["rps"], "msgs_per_call": per,
  "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "max_ms": w["max_ms"],
  "requests": w["requests"], "socket_errors": w["socket_errors"],
  "non_2xx": w["bad_status"], "bad_code": w["bad_code"], "bad_ids": w["bad_ids"],
  "first_bad": w["first_bad"], "dmq_log_errors": int(lerr), "dmq_log_warnings": int(lwarn),
  "accepted_msgs": max(ok, 0) * per, "stored_msgs": None if stored == "null" else int(stored),
  "cpu_pct": json.load(open(cpuf)), "settle": json.loads(quiet),
  "redis_cmdstats": json.load(open(cmdf))}))
PY
  log "$name run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/line.py")"
}

# rb_run NAME RUN CALLS PIPELINE MSGS_PER_CALL ARGS...
rb_run() {
  local name=$1 run=$2 n=$3 p=$4 per=$5 out="$TMP/$1-$2" rps tpid rbpid quiet
  shift 5
  flush
  quiet=$(settle)
  rb "$n" "$p" "$@" >"$out.rb" &
  tpid=$!
  rbpid=$(find_child "$tpid" timeout)
  [[ -n $rbpid ]] && rbpid=$(find_child "$rbpid" redis-benchmark)
  measure "$out.cpu" "$rbpid"
  wait "$tpid" || die "redis-benchmark failed for $name"
  cmdstats "$out.cmd"
  rps=$(cat "$out.rb")
  local dbsize stored
  dbsize=$("${RCLI[@]}" dbsize)
  stored=$(stored_msgs)
  # every message sent must have created a new one (ids repeat by chance only: < 1%)
  (( stored * 100 >= n * per * 99 )) ||
    log "WARNING: $name run $run stored $stored messages (DBSIZE $dbsize) for $((n * per)) sent: the replay overwrites keys"
  python3 - "$name" "$run" "$per" "$rps" "$n" "$p" "$out.cpu" "$quiet" "$out.cmd" "$stored" "$dbsize" >>"$RECORDS" <<'PY'
import json, sys
name, run, per, rps, n, p, cpuf, quiet, cmdf, stored, dbsize = sys.argv[1:]
print(json.dumps({"scenario": name, "run": int(run), "kind": "redis-benchmark",
  "msgs_per_s": round(float(rps) * int(per), 1), "calls_per_s": float(rps),
  "msgs_per_call": int(per), "calls": int(n), "pipeline": int(p),
  "sent_msgs": int(n) * int(per), "stored_msgs": int(stored), "dbsize": int(dbsize),
  "cpu_pct": json.load(open(cpuf)), "settle": json.loads(quiet),
  "redis_cmdstats": json.load(open(cmdf))}))
PY
  log "$name run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/line.py")"
}

# calibrate PIPELINE PROBE_CALLS ARGS...: calls that take about DURATION seconds
calibrate() {
  local p=$1 probe=$2 rps; shift 2
  flush
  rps=$(rb "$probe" "$p" "$@")
  python3 -c "print(max(int(float('$rps') * $DURATION), 100))"
}

log "redis :$REDIS_PORT  dmq :$HTTP_PORT (pid $DMQ_PID)  nginx :$NGINX_PORT  wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s  runs $RUNS"
log "warm-up ($WARMUP s each) and redis-benchmark calibration"
for s in single batch; do
  for pc in "${P1[*]}" "${P2[*]}"; do
    DMQ_PROJECT=${pc% *} DMQ_CMD=${pc#* } timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" \
      -d"${WARMUP}s" -s "$HERE/wrk/$s.lua" "$DMQ_URL" >"$TMP/warmup-$s-${pc% *}.wrk" 2>&1 || true
  done
done
WARM_LOGS=($(dmq_log_counts))
(( WARM_LOGS[0] + WARM_LOGS[1] == 0 )) ||
  log "WARNING: dmq logged ${WARM_LOGS[0]} errors, ${WARM_LOGS[1]} warnings during the warm-up: $(grep -m1 -E ' (error|warning) ' "$TMP/dmq.log" | cut -c1-160)"
N_ONE=$(calibrate 1 20000 "${RB_ONE[@]}")
N_ONE_P=$(calibrate "$RB_PIPELINE" 50000 "${RB_ONE[@]}")
N_BATCH=$(calibrate 1 500 "${RB_BATCH[@]}")
N_BATCH_P=$(calibrate "$RB_PIPELINE" 500 "${RB_BATCH[@]}")
N_BATCH2=$(calibrate 1 500 "${RB_BATCH2[@]}")
N_BATCH2_P=$(calibrate "$RB_PIPELINE" 500 "${RB_BATCH2[@]}")
log "redis-benchmark calls per run: 1 msg $N_ONE / $N_ONE_P (-P $RB_PIPELINE), $BATCH msg $N_BATCH / $N_BATCH_P (-P $RB_PIPELINE), $BATCH msg 2 consumers $N_BATCH2 / $N_BATCH2_P"

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  wrk_run nginx "$run" "$NGINX_URL" empty.lua 1
  wrk_run W1 "$run" "$DMQ_URL" single.lua 1 "${P1[@]}"
  wrk_run W1_2c "$run" "$DMQ_URL" single.lua 1 "${P2[@]}"
  rb_run redis_batch "$run" "$N_BATCH" 1 "$BATCH" "${RB_BATCH[@]}"
  rb_run redis_batch_P "$run" "$N_BATCH_P" "$RB_PIPELINE" "$BATCH" "${RB_BATCH[@]}"
  wrk_run W2 "$run" "$DMQ_URL" batch.lua "$BATCH" "${P1[@]}"
  rb_run redis_batch_2c "$run" "$N_BATCH2" 1 "$BATCH" "${RB_BATCH2[@]}"
  rb_run redis_batch_P_2c "$run" "$N_BATCH2_P" "$RB_PIPELINE" "$BATCH" "${RB_BATCH2[@]}"
  wrk_run W2_2c "$run" "$DMQ_URL" batch.lua "$BATCH" "${P2[@]}"
  rb_run redis_one "$run" "$N_ONE" 1 1 "${RB_ONE[@]}"
  rb_run redis_one_P "$run" "$N_ONE_P" "$RB_PIPELINE" 1 "${RB_ONE[@]}"
done
flush
kill -0 "$DMQ_PID" 2>/dev/null || die "dmq exited during the benchmark"

# ---------------------------------------------------------------- report
mkdir -p "$HERE/results"
RESULT="$HERE/results/ingest-$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$RECORDS" "$RESULT" <<PY
import json, statistics, sys, subprocess, platform, os
recs = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
by = {}
for r in recs: by.setdefault(r["scenario"], []).append(r)
def agg(name, key="msgs_per_s"):
    v = [r[key] for r in by.get(name, []) if r.get(key) is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None
def git(*a):
    try: return subprocess.run(["git", "-C", "$ROOT", *a], capture_output=True, text=True).stdout.strip()
    except Exception: return ""
B, P = $BATCH, $RB_PIPELINE
rows = [
  ("W1 single: dmq POST /api/message/single, 1 msg/request, 1 consumer", "W1"),
  (f"W2 batch: dmq POST /api/message/batch, {B} msg/request, 1 consumer", "W2"),
  ("W1 single, 2 consumers", "W1_2c"),
  (f"W2 batch, {B} msg/request, 2 consumers", "W2_2c"),
  ("ceiling: nginx return 200 (GET, same wrk settings)", "nginx"),
  (f"ceiling: redis-benchmark EVALSHA save-1, {B} msg/call, 1 consumer", "redis_batch"),
  (f"ceiling: redis-benchmark EVALSHA save-1, {B} msg/call, 1 consumer, -P {P}", "redis_batch_P"),
  (f"ceiling: redis-benchmark EVALSHA save-1, {B} msg/call, 2 consumers", "redis_batch_2c"),
  (f"ceiling: redis-benchmark EVALSHA save-1, {B} msg/call, 2 consumers, -P {P}", "redis_batch_P_2c"),
  ("ceiling: redis-benchmark EVALSHA save-1, 1 msg/call, 1 consumer", "redis_one"),
  (f"ceiling: redis-benchmark EVALSHA save-1, 1 msg/call, 1 consumer, -P {P}", "redis_one_P"),
]
summary = {}
for _, k in rows:
    summary[k] = {"msgs_per_s": agg(k), "calls_per_s": agg(k, "calls_per_s"),
                  "p50_ms": agg(k, "p50_ms"), "p99_ms": agg(k, "p99_ms")}
med = lambda k: (summary[k]["msgs_per_s"] or {}).get("median")
batch_ceiling = max(x for x in (med("redis_batch"), med("redis_batch_P")) if x)
batch_ceiling_2c = max(x for x in (med("redis_batch_2c"), med("redis_batch_P_2c")) if x)
ratios = {
  "W1_over_nginx": med("W1") / med("nginx"),
  "W2_over_redis_batch_best": med("W2") / batch_ceiling,
  "W2_over_redis_batch_unpipelined": med("W2") / med("redis_batch"),
  "W2_over_redis_batch_pipelined": med("W2") / med("redis_batch_P"),
  "W1_over_redis_one_best": med("W1") / max(med("redis_one"), med("redis_one_P")),
  "W1_2c_over_nginx": med("W1_2c") / med("nginx"),
  "W2_2c_over_redis_batch_2c_best": med("W2_2c") / batch_ceiling_2c,
}
WRK = ("W1", "W2", "W1_2c", "W2_2c", "nginx")
bad = {k: sum(r.get("non_2xx", 0) + r.get("bad_code", 0) + r.get("bad_ids", 0) +
              sum(r.get("socket_errors", {}).values()) for r in by.get(k, []))
       for k in WRK}
log_errors = {k: sum(r.get("dmq_log_errors", 0) for r in by.get(k, [])) for k in WRK[:4]}
lost = [r for r in recs if r["kind"] == "wrk" and r.get("stored_msgs") is not None and r["stored_msgs"] < r["accepted_msgs"]]
# a Redis ceiling must create a message per message sent (ids repeat by chance only)
overwrote = [f"{r['scenario']}#{r['run']}: {r['stored_msgs']}/{r['sent_msgs']}" for r in recs
             if r["kind"] == "redis-benchmark" and r["stored_msgs"] < 0.99 * r["sent_msgs"]]
def script_cost(r):
    if r["scenario"] == "nginx": return None, None
    cs = r.get("redis_cmdstats") or {}
    usec = sum(cs.get(c, {}).get("usec", 0) for c in ("evalsha", "eval"))
    calls = sum(cs.get(c, {}).get("calls", 0) for c in ("evalsha", "eval"))
    msgs = r["requests"] * r["msgs_per_call"] if r["kind"] == "wrk" else calls * r["msgs_per_call"]
    if not calls or not msgs: return None, None
    return usec / msgs, msgs / calls
for r in recs:
    r["redis_script_usec_per_msg"], r["msgs_per_script_call"] = script_cost(r)
for _, k in rows:
    summary[k]["redis_script_usec_per_msg"] = agg(k, "redis_script_usec_per_msg")
    summary[k]["msgs_per_script_call"] = agg(k, "msgs_per_script_call")
def cpu(k):
    rs = [r for r in by.get(k, []) if r.get("cpu_pct")]
    keys = ["dmq", "redis", "nginx", "load", "machine_busy_cores", "other_cores"]
    out = {}
    for c in keys:
        v = [r["cpu_pct"][c] for r in rs if r["cpu_pct"].get(c) is not None]
        out[c] = statistics.median(v) if v else None
    return out if rs else None
doc = {
  "benchmark": "dmq ingest (issue 2)", "started_utc": "$START",
  "finished_utc": __import__("datetime").datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
  "git": {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "src"))},
  "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
              "note": "wrk, dmq, redis-server, nginx and redis-benchmark share this machine"},
  "settings": {"runs": $RUNS, "duration_s": $DURATION, "wrk_threads": $THREADS,
               "connections": $CONNECTIONS, "batch": B, "redis_benchmark_clients": $RB_CLIENTS,
               "redis_benchmark_pipeline": P, "warmup_s": $WARMUP},
  "summary": summary, "ratios": ratios, "errors": bad, "dmq_log_errors": log_errors,
  "stored_fewer_than_accepted": lost, "ceiling_stored_fewer_than_sent": overwrote,
  "dmq_threads_cpu_pct": {k: (by[k][len(by[k]) // 2]["cpu_pct"].get("dmq_threads") if by.get(k) else None)
                          for k in WRK[:4]},
  "cpu_pct_median": {k: cpu(k) for _, k in rows},
  "records": recs,
}
json.dump(doc, open(out, "w"), indent=2)

def fmt(a, unit=""):
    if not a: return "-"
    f = (lambda x: f"{x:,.0f}") if a["median"] >= 100 else (lambda x: f"{x:.2f}")
    return f"{f(a['median'])} ({f(a['min'])}–{f(a['max'])}){unit}"
print()
print(f"Ingest benchmark, {doc['started_utc']}, {$RUNS} runs × {$DURATION} s, wrk -t{$THREADS} -c{$CONNECTIONS}; "
      f"median (min–max) over runs")
print()
print("| scenario | msg/s | requests or calls/s | p50 ms | p99 ms | CPU, % of a core: dmq / redis / nginx / load generator; others, cores | Redis script µs/msg (msgs/call) |")
print("|---|---|---|---|---|---|---|")
n0 = lambda x: "?" if x is None else f"{x:.0f}"
for label, k in rows:
    s = summary[k]; c = cpu(k)
    cs = (f"{n0(c['dmq'])} / {n0(c['redis'])} / {n0(c['nginx'])} / {n0(c['load'])}; "
          f"{'?' if c['other_cores'] is None else format(c['other_cores'], '.2f')}") if c else "-"
    u, m = agg(k, "redis_script_usec_per_msg"), agg(k, "msgs_per_script_call")
    us = f"{u['median']:.1f} ({m['median']:.0f})" if u and m else "-"
    print(f"| {label} | {fmt(s['msgs_per_s'])} | {fmt(s['calls_per_s'])} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | {cs} | {us} |")
print()
print("| ratio | value |")
print("|---|---|")
print(f"| W1 / nginx return 200 | {ratios['W1_over_nginx']:.1%} |")
print(f"| W2 / best redis save-1 {B}-msg ceiling | {ratios['W2_over_redis_batch_best']:.1%} |")
print(f"| W2 / redis save-1 {B}-msg, unpipelined | {ratios['W2_over_redis_batch_unpipelined']:.1%} |")
print(f"| W2 / redis save-1 {B}-msg, -P {P} | {ratios['W2_over_redis_batch_pipelined']:.1%} |")
print(f"| W1 / best redis save-1 1-msg ceiling | {ratios['W1_over_redis_one_best']:.1%} |")
print(f"| W1_2c / nginx return 200 | {ratios['W1_2c_over_nginx']:.1%} |")
print(f"| W2_2c / best redis save-1 {B}-msg 2-consumer ceiling | {ratios['W2_2c_over_redis_batch_2c_best']:.1%} |")
print()
print("Bad answers (non-2xx, code != 0, wrong id count, socket errors): " +
      ", ".join(f"{k} {bad[k]}" for k in WRK) +
      f"; runs where Redis held fewer messages than were accepted: {len(lost)}; "
      "error lines in dmq's log: " + ", ".join(f"{k} {v}" for k, v in log_errors.items()))
print(f"Redis ceilings that stored < 99% of the messages they sent: {', '.join(overwrote) or 'none'}")
noisy = [f"{r['scenario']}#{r['run']}" for r in recs if not r.get("settle", {}).get("quiet", True)]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
PY
