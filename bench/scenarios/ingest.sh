#!/usr/bin/env bash
# Ingest benchmark of dmq (issue 2). See bench/README.md.
#
# Starts a private redis-server, a `dmq client` and an nginx `return 200`, all on free
# loopback ports, then runs RUNS rounds; each round measures, in this order:
#   nginx        wrk against nginx `return 200`                    (HTTP ceiling for W1)
#   W1 single    wrk POST /api/message/single, 1 message a request, one consumer
#                (svs:notice:user); W1_2c the same for two consumers (sds:create:order)
#   redis tx     dmq's save transaction for 100 messages, one consumer (Redis ceiling for W2)
#   W2 batch     wrk POST /api/message/batch, 100 messages a request, one consumer
#   redis tx     the same for 100 messages, two consumers            (ceiling for W2_2c)
#   W2_2c        the batch for two consumers
#   redis tx     the same for 1 message, one consumer                (ceiling for W1)
# A Redis ceiling replays the save transaction dmq sent (MULTI, a SET per message, a
# ZRANGE ... 0 0 WITHSCORES and a variadic ZADD per queue, EXEC; captured with MONITOR;
# not the wake-up PUBLISH dmq sends after it), N copies with fresh message ids, through
# `redis-cli --pipe` (one connection, fully pipelined), N calibrated to last about
# DURATION s. Redis is emptied before every measurement; after each Redis ceiling the
# script checks that it stored a new message per message sent and that each queue grew by
# its ZADD members per copy. Prints a markdown table (median (min-max) over the rounds)
# and writes bench/results/ingest-<timestamp>.json.
#
# Knobs (environment): RUNS=3, DURATION=10 (s per measurement), CONNECTIONS=64 and
# THREADS=1 (wrk), BATCH=100 (messages per batch request and per replayed batch save),
# WARMUP=2 (s), QUIET_MAX=60 and QUIET_CORES=0.3 (wait before each measurement until other
# processes use < QUIET_CORES cores, at most QUIET_MAX s), DMQ_BIN=build/dmq,
# BUILD=0 (1: cmake + ninja first; off by default so as not to race another build),
# KEEP_TMP=0 (1: keep the temp dir with logs and raw outputs).
set -euo pipefail

BENCH_NAME=ingest
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
BATCH=${BATCH:-100}
WARMUP=${WARMUP:-2}
BUILD=${BUILD:-0}
# shellcheck source=bench/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/common.sh"
export DMQ_WRK_DIR="$HERE/wrk" DMQ_BATCH="$BATCH"
CLEANUP_LOGS=("$TMP/dmq.log")
# the replayed transactions: hundreds of MB, made again by any run
CLEANUP_RM=("$TMP/tx-one.resp" "$TMP/tx-batch.resp" "$TMP/tx-batch2.resp")

need wrk redis-server redis-cli nginx curl python3
(( DURATION >= 3 )) || die "DURATION must be at least 3 s"

if [[ $BUILD == 1 ]]; then
  log "building dmq"
  if ! out=$(cd "$ROOT" && { cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
      ninja -C build dmq; } 2>&1); then
    printf '%s\n' "$out" | grep -v -i warning | tail -n 30 >&2
    die "build failed"
  fi
fi

find_child() { child_of "$@"; }  # find_child PID NAME

# ---------------------------------------------------------------- redis
start_redis
# flush, also resetting INFO commandstats (each measurement reads its own)
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
dmq_log_counts() { log_counts "$TMP/dmq.log"; }
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
dmq_copy
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
start_nginx return200
NGINX_URL="http://127.0.0.1:$NGINX_PORT/"

# ---------------------------------------------------------------- Redis ceilings
# A Redis ceiling replays the very save dmq makes: MONITOR Redis while dmq stores one
# single message and one batch of BATCH messages to one consumer, and one batch to two,
# then find each save's transaction (MULTI, a SET per message, per queue a ZRANGE of its
# earliest entry and one ZADD of its members, EXEC; the PUBLISH of a wake-up that dmq
# sends after the EXEC is left out) and write N copies of it, every message id (SET key
# suffixes, ZADD members) replaced by a fresh one, as a RESP stream that `redis-cli
# --pipe` sends down one connection (lib/capture.py tx). So the ceiling follows dmq's save
# commands as they are, as long as a save is one transaction whose message ids are the
# ends of `:m:<id>` keys and ZADD members (the path of unordered commands; ordered ones
# still use save-1).
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
declare -A TX_IDS TX_MSGS TX_REPLIES TX_SHAPE TX_QUEUES
TX_IDS[one]=$(post_ids /api/message/single "$(DMQ_PROJECT=${P1[0]} DMQ_CMD=${P1[1]} "${CAPTURE[@]}" body single)") || die "single request failed"
TX_IDS[batch]=$(post_ids /api/message/batch "$(DMQ_PROJECT=${P1[0]} DMQ_CMD=${P1[1]} "${CAPTURE[@]}" body batch "$BATCH")") || die "batch request failed"
TX_IDS[batch2]=$(post_ids /api/message/batch "$(DMQ_PROJECT=${P2[0]} DMQ_CMD=${P2[1]} "${CAPTURE[@]}" body batch "$BATCH")") || die "batch request (2 consumers) failed"
# the requests were answered one after the other, so once MONITOR has printed the last
# save's EXEC it has printed the others'
wait_for 10 "${CAPTURE[@]}" tx "$TMP/monitor.txt" "${TX_IDS[batch2]}" 0 /dev/null ||
  die "no transaction with exactly the $BATCH ids of the 2-consumer batch (see $TMP/monitor.txt; is a save still one MULTI ... EXEC?)"
kill "$MON_PID"; wait "$MON_PID" 2>/dev/null || true
# what each transaction holds: "MSGS REPLIES SHAPE" (messages; top-level replies of one
# copy; its commands), then "KEY N" per queue its ZADDs add to (N members per copy)
for t in one batch batch2; do
  "${CAPTURE[@]}" tx "$TMP/monitor.txt" "${TX_IDS[$t]}" 0 /dev/null >"$TMP/tx-$t.meta" ||
    die "no transaction carried exactly the ids of the $t save (see $TMP/monitor.txt)"
  read -r "TX_MSGS[$t]" "TX_REPLIES[$t]" "TX_SHAPE[$t]" <"$TMP/tx-$t.meta"
  TX_QUEUES[$t]=$(tail -n +2 "$TMP/tx-$t.meta")
  [[ -n ${TX_QUEUES[$t]} ]] || die "the $t transaction adds to no queue (see $TMP/tx-$t.meta)"
done
(( TX_MSGS[one] == 1 && TX_MSGS[batch] == BATCH && TX_MSGS[batch2] == BATCH )) ||
  die "the captured transactions hold ${TX_MSGS[one]}, ${TX_MSGS[batch]}, ${TX_MSGS[batch2]} messages, not 1, $BATCH, $BATCH"
log "save transaction: 1 message: ${TX_SHAPE[one]}; $BATCH (1 consumer): ${TX_SHAPE[batch]}; $BATCH (2 consumers): ${TX_SHAPE[batch2]} (queues: $(echo ${TX_QUEUES[batch2]}))"

# redis_idle: Redis ran no command but ours for 0.2 s, i.e. dmq has saved what it was still
# answering when a load generator stopped (a flush before that would leave its saves mixed
# with a ceiling's, and its messages counted as the replay's)
commands_processed() { "${RCLI[@]}" info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p'; }
redis_idle() {
  local a b
  a=$(commands_processed)
  sleep 0.2
  b=$(commands_processed)
  (( b - a <= 1 ))  # the first INFO
}
quiesce() { wait_for 30 redis_idle || log "WARNING: Redis still busy with other clients after 30 s"; }

# tx_gen NAME N: $TMP/tx-NAME.resp, N copies of the captured transaction NAME (fresh ids)
tx_gen() {
  "${CAPTURE[@]}" tx "$TMP/monitor.txt" "${TX_IDS[$1]}" "$2" "$TMP/tx-$1.resp" >/dev/null ||
    die "could not write $2 copies of the $1 transaction"
}
# tx_pipe NAME OUT: sends $TMP/tx-NAME.resp with redis-cli --pipe; its output in OUT.pipe,
# "START END EXIT_CODE" (wall clock around redis-cli, which returns once Redis has answered
# the last command) in OUT.time
tx_pipe() {
  local s rc=0
  s=$EPOCHREALTIME
  timeout $((DURATION * 4 + 30)) "${RCLI[@]}" --pipe <"$TMP/tx-$1.resp" >"$2.pipe" 2>&1 || rc=$?
  echo "$s $EPOCHREALTIME $rc" >"$2.time"
}
# tx_check NAME N OUT [strict]: after a replay of N copies into an emptied Redis: dies
# unless redis-cli sent everything and Redis answered every command without error; writes
# OUT.check (JSON: seconds, stored messages, DBSIZE, members of each queue) and warns (dies
# if strict) if Redis holds other than N × MSGS messages, or queues other than N × their
# members per copy (a command that failed inside EXEC: redis-cli counts only top-level errors)
tx_check() {
  local name=$1 n=$2 out=$3 s e rc errs replies stored dbsize q m key queued="" short=""
  read -r s e rc <"$out.time"
  s=${s/,/.} e=${e/,/.}  # EPOCHREALTIME follows the locale's decimal point
  (( rc == 0 )) || die "redis-cli --pipe of the $name transaction exited $rc: $(tail -n 3 "$out.pipe")"
  read -r errs replies < <(sed -n 's/^errors: \([0-9]*\), replies: \([0-9]*\).*/\1 \2/p' "$out.pipe")
  [[ ${errs:-x} == 0 && ${replies:-x} == $((n * TX_REPLIES[$name])) ]] ||
    die "redis-cli --pipe of $n $name transactions: errors ${errs:-?}, replies ${replies:-?} of $((n * TX_REPLIES[$name])) ($(tail -n 1 "$out.pipe"))"
  stored=$(stored_msgs)
  dbsize=$("${RCLI[@]}" dbsize)
  (( stored == n * TX_MSGS[$name] )) || short+=" stored $stored messages of $((n * TX_MSGS[$name]));"
  while read -r key m; do
    q=$("${RCLI[@]}" zcard "$key")
    queued+="${queued:+,}\"$key\":$q"
    (( q == n * m )) || short+=" $key holds $q members of $((n * m));"
  done <<<"${TX_QUEUES[$name]}"
  if [[ -n $short ]]; then
    [[ ${4:-} == strict ]] && die "replay of $n $name transactions:$short"
    log "WARNING: replay of $n $name transactions:$short the replay overwrites keys or a command failed inside EXEC"
  fi
  echo "{\"seconds\":$(python3 -c "print(round($e - $s, 4))"),\"stored_msgs\":$stored,\"dbsize\":$dbsize,\"queued\":{$queued}}" >"$out.check"
}

# ---------------------------------------------------------------- measurement
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
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
print(json.dumps({"case": name, "run": int(run), "kind": "wrk",
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

# tx_run NAME RUN TX N: replays $TMP/tx-TX.resp (N copies of the captured transaction TX,
# written before: only the replay is timed) with redis-cli --pipe, then checks it
tx_run() {
  local name=$1 run=$2 tx=$3 n=$4 out="$TMP/$1-$2" tpid cpid quiet
  quiesce
  flush
  quiet=$(settle)
  tx_pipe "$tx" "$out" &
  tpid=$!
  cpid=$(find_child "$tpid" redis-cli)
  [[ -n $cpid ]] || log "WARNING: redis-cli's pid not found; no CPU figure for the load generator of $name run $run"
  measure "$out.cpu" "$cpid"
  wait "$tpid" || die "redis-cli --pipe failed for $name"
  cmdstats "$out.cmd"
  tx_check "$tx" "$n" "$out"
  python3 - "$name" "$run" "${TX_MSGS[$tx]}" "$n" "$out.check" "$out.cpu" "$quiet" "$out.cmd" >>"$RECORDS" <<'PY'
import json, sys
name, run, per, n, checkf, cpuf, quiet, cmdf = sys.argv[1:]
per, n, c = int(per), int(n), json.load(open(checkf))
print(json.dumps({"case": name, "run": int(run), "kind": "redis-cli-pipe",
  "msgs_per_s": round(n * per / c["seconds"], 1), "calls_per_s": round(n / c["seconds"], 1),
  "msgs_per_call": per, "calls": n, "seconds": c["seconds"],
  "sent_msgs": n * per, "stored_msgs": c["stored_msgs"], "dbsize": c["dbsize"],
  "queued": c["queued"], "cpu_pct": json.load(open(cpuf)), "settle": json.loads(quiet),
  "redis_cmdstats": json.load(open(cmdf))}))
PY
  log "$name run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/line.py")"
}

# tx_calibrate TX PROBE: transactions TX that take about DURATION seconds to replay, from
# a replay of PROBE of them (which also checks that a replay stores every message)
tx_calibrate() {
  local tx=$1 probe=$2 out="$TMP/calibrate-$1"
  quiesce
  flush
  tx_gen "$tx" "$probe"
  tx_pipe "$tx" "$out"
  tx_check "$tx" "$probe" "$out" strict
  python3 -c "import json; print(max(int($probe / json.load(open('$out.check'))['seconds'] * $DURATION), 10))"
}

log "redis :$REDIS_PORT  dmq :$HTTP_PORT (pid $DMQ_PID)  nginx :$NGINX_PORT  wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s  runs $RUNS"
log "warm-up ($WARMUP s each) and calibration of the Redis ceilings"
for s in single batch; do
  for pc in "${P1[*]}" "${P2[*]}"; do
    DMQ_PROJECT=${pc% *} DMQ_CMD=${pc#* } timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" \
      -d"${WARMUP}s" -s "$HERE/wrk/$s.lua" "$DMQ_URL" >"$TMP/warmup-$s-${pc% *}.wrk" 2>&1 || true
  done
done
WARM_LOGS=($(dmq_log_counts))
(( WARM_LOGS[0] + WARM_LOGS[1] == 0 )) ||
  log "WARNING: dmq logged ${WARM_LOGS[0]} errors, ${WARM_LOGS[1]} warnings during the warm-up: $(grep -m1 -E ' (error|warning) ' "$TMP/dmq.log" | cut -c1-160)"
declare -A TX_N
TX_N[one]=$(tx_calibrate one 30000)
TX_N[batch]=$(tx_calibrate batch 500)
TX_N[batch2]=$(tx_calibrate batch2 400)
log "transactions per Redis ceiling run: 1 msg ${TX_N[one]}, $BATCH msg ${TX_N[batch]}, $BATCH msg 2 consumers ${TX_N[batch2]}; writing them"
for t in one batch batch2; do tx_gen "$t" "${TX_N[$t]}"; done
flush

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  wrk_run nginx "$run" "$NGINX_URL" empty.lua 1
  wrk_run W1 "$run" "$DMQ_URL" single.lua 1 "${P1[@]}"
  wrk_run W1_2c "$run" "$DMQ_URL" single.lua 1 "${P2[@]}"
  tx_run redis_tx_batch "$run" batch "${TX_N[batch]}"
  wrk_run W2 "$run" "$DMQ_URL" batch.lua "$BATCH" "${P1[@]}"
  tx_run redis_tx_batch_2c "$run" batch2 "${TX_N[batch2]}"
  wrk_run W2_2c "$run" "$DMQ_URL" batch.lua "$BATCH" "${P2[@]}"
  tx_run redis_tx_one "$run" one "${TX_N[one]}"
done
flush
kill -0 "$DMQ_PID" 2>/dev/null || die "dmq exited during the benchmark"

# ---------------------------------------------------------------- report
TX_SHAPE_ONE="${TX_SHAPE[one]}" TX_SHAPE_BATCH="${TX_SHAPE[batch]}" TX_SHAPE_BATCH2="${TX_SHAPE[batch2]}" \
  python3 - "$RECORDS" <<PY
import json, statistics, sys, os
sys.path.insert(0, "$HERE/lib")
import result
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in recs: by.setdefault(r["case"], []).append(r)
def agg(name, key="msgs_per_s"):
    v = [r[key] for r in by.get(name, []) if r.get(key) is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None
B = $BATCH
CEIL = "ceiling: redis-cli --pipe replay of dmq's save transaction"
rows = [
  ("W1 single: dmq POST /api/message/single, 1 msg/request, 1 consumer", "W1"),
  (f"W2 batch: dmq POST /api/message/batch, {B} msg/request, 1 consumer", "W2"),
  ("W1 single, 2 consumers", "W1_2c"),
  (f"W2 batch, {B} msg/request, 2 consumers", "W2_2c"),
  ("ceiling: nginx return 200 (GET, same wrk settings)", "nginx"),
  (f"{CEIL}, {B} msg/call, 1 consumer", "redis_tx_batch"),
  (f"{CEIL}, {B} msg/call, 2 consumers", "redis_tx_batch_2c"),
  (f"{CEIL}, 1 msg/call, 1 consumer", "redis_tx_one"),
]
summary = {}
for _, k in rows:
    summary[k] = {"msgs_per_s": agg(k), "calls_per_s": agg(k, "calls_per_s"),
                  "p50_ms": agg(k, "p50_ms"), "p99_ms": agg(k, "p99_ms")}
med = lambda k: (summary[k]["msgs_per_s"] or {}).get("median")
ratios = {
  "W1_over_nginx": med("W1") / med("nginx"),
  "W2_over_redis_tx_batch": med("W2") / med("redis_tx_batch"),
  "W1_over_redis_tx_one": med("W1") / med("redis_tx_one"),
  "W1_2c_over_nginx": med("W1_2c") / med("nginx"),
  "W2_2c_over_redis_tx_batch_2c": med("W2_2c") / med("redis_tx_batch_2c"),
}
WRK = ("W1", "W2", "W1_2c", "W2_2c", "nginx")
bad = {k: sum(r.get("non_2xx", 0) + r.get("bad_code", 0) + r.get("bad_ids", 0) +
              sum(r.get("socket_errors", {}).values()) for r in by.get(k, []))
       for k in WRK}
log_errors = {k: sum(r.get("dmq_log_errors", 0) for r in by.get(k, [])) for k in WRK[:4]}
lost = [r for r in recs if r["kind"] == "wrk" and r.get("stored_msgs") is not None and r["stored_msgs"] < r["accepted_msgs"]]
# a Redis ceiling must create a message per message sent (the ids are unique)
overwrote = [f"{r['case']}#{r['run']}: {r['stored_msgs']}/{r['sent_msgs']}" for r in recs
             if r["kind"] == "redis-cli-pipe" and r["stored_msgs"] < r["sent_msgs"]]
def save_cost(r):
    """Redis' execution time per message of the saves (INFO commandstats): EXEC, whose time
    includes the commands it runs, + MULTI; or the scripts' if there was no transaction
    (ordered commands' save-1). Protocol parsing and I/O are not in it."""
    if r["case"] == "nginx": return None, None
    cs = r.get("redis_cmdstats") or {}
    names = ("exec", "multi") if cs.get("exec", {}).get("calls") else ("evalsha", "eval")
    usec = sum(cs.get(c, {}).get("usec", 0) for c in names)
    calls = sum(cs.get(c, {}).get("calls", 0) for c in (names[:1] if names[0] == "exec" else names))
    msgs = r["requests"] * r["msgs_per_call"] if r["kind"] == "wrk" else r["calls"] * r["msgs_per_call"]
    if not calls or not msgs: return None, None
    return usec / msgs, msgs / calls
for r in recs:
    r["redis_save_usec_per_msg"], r["msgs_per_save_call"] = save_cost(r)
for _, k in rows:
    summary[k]["redis_save_usec_per_msg"] = agg(k, "redis_save_usec_per_msg")
    summary[k]["msgs_per_save_call"] = agg(k, "msgs_per_save_call")
def cpu(k):
    rs = [r for r in by.get(k, []) if r.get("cpu_pct")]
    keys = ["dmq", "redis", "nginx", "load", "machine_busy_cores", "other_cores"]
    out = {}
    for c in keys:
        v = [r["cpu_pct"][c] for r in rs if r["cpu_pct"].get(c) is not None]
        out[c] = statistics.median(v) if v else None
    return out if rs else None
params = {"runs": $RUNS, "duration_s": $DURATION, "wrk_threads": $THREADS,
          "connections": $CONNECTIONS, "batch": B, "warmup_s": $WARMUP,
          "redis_ceiling": "redis-cli --pipe, one connection, of N copies of dmq's save transaction",
          "redis_ceiling_transactions": {"redis_tx_one": ${TX_N[one]}, "redis_tx_batch": ${TX_N[batch]},
                                         "redis_tx_batch_2c": ${TX_N[batch2]}},
          "redis_ceiling_commands": {"redis_tx_one": os.environ["TX_SHAPE_ONE"],
                                     "redis_tx_batch": os.environ["TX_SHAPE_BATCH"],
                                     "redis_tx_batch_2c": os.environ["TX_SHAPE_BATCH2"]}}
for r in recs:
    r["ok"] = (r["kind"] != "wrk" or (r.get("non_2xx", 0) + r.get("bad_code", 0) + r.get("bad_ids", 0)
               + sum(r.get("socket_errors", {}).values()) == 0 and r not in lost)) and \
              (r["kind"] != "redis-cli-pipe" or r["stored_msgs"] >= r["sent_msgs"])
extra = {
  "ratios": ratios, "errors": bad, "dmq_log_errors": log_errors,
  "stored_fewer_than_accepted": lost, "ceiling_stored_fewer_than_sent": overwrote,
  "dmq_threads_cpu_pct": {k: (by[k][len(by[k]) // 2]["cpu_pct"].get("dmq_threads") if by.get(k) else None)
                          for k in WRK[:4]},
  "cpu_pct_median": {k: cpu(k) for _, k in rows},
  "note": "wrk, dmq, redis-server, nginx and redis-cli share this machine", "dmq_sha256": "$DMQ_SHA",
}
out = result.write("ingest", recs, summary, params, title="dmq ingest (issue 2)", started="$START",
                   headline=[("W1 msg/s", ["W1", "msgs_per_s"]), ("W2 msg/s", ["W2", "msgs_per_s"]),
                             ("nginx req/s", ["nginx", "msgs_per_s"])], extra=extra)
doc = json.load(open(out))

def fmt(a, unit=""):
    if not a: return "-"
    f = (lambda x: f"{x:,.0f}") if a["median"] >= 100 else (lambda x: f"{x:.2f}")
    return f"{f(a['median'])} ({f(a['min'])}–{f(a['max'])}){unit}"
print()
print(f"Ingest benchmark, {doc['started_utc']}, {$RUNS} runs × {$DURATION} s, wrk -t{$THREADS} -c{$CONNECTIONS}; "
      f"median (min–max) over runs")
print()
print("| scenario | msg/s | requests or transactions/s | p50 ms | p99 ms | CPU, % of a core: dmq / redis / nginx / load generator; others, cores | Redis µs/msg in the saves' MULTI/EXEC (msgs/EXEC) |")
print("|---|---|---|---|---|---|---|")
n0 = lambda x: "?" if x is None else f"{x:.0f}"
for label, k in rows:
    s = summary[k]; c = cpu(k)
    cs = (f"{n0(c['dmq'])} / {n0(c['redis'])} / {n0(c['nginx'])} / {n0(c['load'])}; "
          f"{'?' if c['other_cores'] is None else format(c['other_cores'], '.2f')}") if c else "-"
    u, m = agg(k, "redis_save_usec_per_msg"), agg(k, "msgs_per_save_call")
    us = f"{u['median']:.1f} ({m['median']:.0f})" if u and m else "-"
    print(f"| {label} | {fmt(s['msgs_per_s'])} | {fmt(s['calls_per_s'])} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | {cs} | {us} |")
print()
print("| ratio | value |")
print("|---|---|")
print(f"| W1 / nginx return 200 | {ratios['W1_over_nginx']:.1%} |")
print(f"| W2 / redis-cli --pipe replay of the {B}-msg save transaction | {ratios['W2_over_redis_tx_batch']:.1%} |")
print(f"| W1 / redis-cli --pipe replay of the 1-msg save transaction | {ratios['W1_over_redis_tx_one']:.1%} |")
print(f"| W1_2c / nginx return 200 | {ratios['W1_2c_over_nginx']:.1%} |")
print(f"| W2_2c / redis-cli --pipe replay of the {B}-msg 2-consumer save transaction | {ratios['W2_2c_over_redis_tx_batch_2c']:.1%} |")
print()
print("Bad answers (non-2xx, code != 0, wrong id count, socket errors): " +
      ", ".join(f"{k} {bad[k]}" for k in WRK) +
      f"; runs where Redis held fewer messages than were accepted: {len(lost)}; "
      "error lines in dmq's log: " + ", ".join(f"{k} {v}" for k, v in log_errors.items()))
print(f"Redis ceilings that stored fewer messages than they sent: {', '.join(overwrote) or 'none'}")
noisy = [f"{r['case']}#{r['run']}" for r in recs if not r.get("settle", {}).get("quiet", True)]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
