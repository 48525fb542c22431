#!/usr/bin/env bash
# Big backlogs (issue 15): 10 million waiting messages, and 1 million due at once. See
# bench/README.md, "Big backlogs".
#
# 1. Backlog. With the dispatcher stopped, stores BACKLOG_N messages due in
#    BACKLOG_DELAY_MS (30 days) with PARAMS_BYTES-byte params, each its own bucket, to the
#    one-consumer command, through `dmq client`'s batch API (batch POSTs of STORE_BATCH
#    from STORE_THREADS connections; every answer checked: code 0 and one id a message).
#    Bounded: no new POST after STORE_MAX s, the backlog is then what was stored (said in
#    the result). Redis used_memory per message = (after - before) / stored. Then starts
#    `dmq server`, waits until it is subscribed (time to ready), then until its start-up
#    audit is over (dispatcher::audit SCANs the whole keyspace for unserved queues and
#    ordered buckets: Redis ran no SCAN for 3 s; at most AUDIT_MAX s; its length, SCAN calls
#    and CPU are reported), then for IDLE_S s samples every IDLE_SAMPLE s the RSS (VmRSS)
#    and CPU (utime + stime of /proc/<pid>/stat) of `dmq server`, `dmq client` and
#    redis-server, and the commands Redis ran meanwhile.
# 2. Drains, with the backlog still stored in the same queue (DRAIN_ON_BACKLOG=1; 0: an
#    empty Redis but for the backlog's absence, as drain.sh): per round, SMALL_N then
#    BIG_N messages due at once are stored with the dispatcher stopped (lib/post.py
#    preload, as drain.sh), then `dmq server` is started and timed until the nginx sink
#    has every one: deliveries/s = deliveries / (last - first arrival). Checks: every
#    posted id arrived exactly once with retry=0, nothing is due in the queue after, the
#    backlog is untouched (ZCARD), no error line in dmq server's log. The drained records
#    are then deleted (UNLINK), so every round starts from the same Redis. Each drain
#    starts `dmq server` anew, so its start-up audit runs during the drain (SCAN calls
#    counted per drain). SMALL_N runs
#    RUNS times, BIG_N RUNS_BIG times, but a BIG_N round that would end after TIME_BUDGET s
#    (from the scenario's start, at the pace of the previous one) is skipped.
# Prints markdown tables, writes bench/results/backlog-<UTC stamp>.json; the last line of
# stdout is `RESULT <json path>`.
#
# Knobs (environment): BACKLOG_N=10000000, BACKLOG_DELAY_MS=2592000000, PARAMS_BYTES=100,
# STORE_BATCH=1000, STORE_THREADS=3, STORE_MAX=480 (s), IDLE_S=60, IDLE_SAMPLE=1, AUDIT_MAX=300,
# SMALL_N=50000, BIG_N=1000000, RUNS=3, RUNS_BIG=3, TIME_BUDGET=1800 (s), DRAIN_MAX=600 (s),
# DRAIN_ON_BACKLOG=1, PRELOAD_BATCH=1000, PRELOAD_THREADS=2, and lib/dispatch.sh's
# CONCURRENCY, CLAIM_BATCH, LEASE_MARGIN_MS, RATE_PER_SEC, CONSUMER_TIMEOUT, QUIET_MAX,
# QUIET_CORES, DMQ_BIN, KEEP_TMP.
set -euo pipefail
BENCH_NAME=backlog
BACKLOG_N=${BACKLOG_N:-10000000}
BACKLOG_DELAY_MS=${BACKLOG_DELAY_MS:-2592000000}
PARAMS_BYTES=${PARAMS_BYTES:-100}
STORE_BATCH=${STORE_BATCH:-1000}
STORE_THREADS=${STORE_THREADS:-3}
STORE_MAX=${STORE_MAX:-480}
IDLE_S=${IDLE_S:-60}
IDLE_SAMPLE=${IDLE_SAMPLE:-1}
AUDIT_MAX=${AUDIT_MAX:-300}
SMALL_N=${SMALL_N:-50000}
BIG_N=${BIG_N:-1000000}
RUNS=${RUNS:-3}
RUNS_BIG=${RUNS_BIG:-3}
TIME_BUDGET=${TIME_BUDGET:-1800}
DRAIN_MAX=${DRAIN_MAX:-600}
DRAIN_ON_BACKLOG=${DRAIN_ON_BACKLOG:-1}
PRELOAD_BATCH=${PRELOAD_BATCH:-1000}
PRELOAD_THREADS=${PRELOAD_THREADS:-2}
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"
MEM=(python3 "$HERE/lib/redismem.py")
Q='dmq:{bench}:q:c1'

RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
T_START=$SECONDS
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  nginx sink :$NGINX_PORT  backlog $BACKLOG_N  drains $SMALL_N x $RUNS, $BIG_N x $RUNS_BIG"

now_ms() { "${RCLI[@]}" time | awk 'NR==1{s=$1} NR==2{printf "%d\n", s*1000 + $1/1000}'; }
due_now() { "${RCLI[@]}" zcount "$Q" -inf "$(now_ms)"; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
commands() { "${RCLI[@]}" info stats | awk -F: '/^total_commands_processed:/{print $2+0}'; }
scans() { "${RCLI[@]}" info commandstats | awk -F'[:=,]' '/^cmdstat_scan:/{print $3+0; f=1} END{if(!f) print 0}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wait_audit MAX: waits (at most MAX s) until `dmq server`'s start-up audit (dispatcher::audit:
# SCANs of the whole keyspace for unserved queues and ordered buckets) is over, i.e. Redis
# ran no SCAN for 3 s; prints "<seconds since T0 of the last SCAN seen> <SCAN calls>"
wait_audit() {
  local until=$((SECONDS + $1)) n last=-1 still=0 at
  at=$(date +%s.%N)
  while ((SECONDS < until)); do
    n=$(scans)
    if ((n != last)); then last=$n still=0 at=$(date +%s.%N); else still=$((still + 1)); fi
    ((still >= 3)) && break
    sleep 1
  done
  echo "$(echo "$at - $T0" | bc) $last"
}

# ---------------------------------------------------------------- 1. the backlog
# store_backlog N DELAY_MS: the producer; prints a JSON summary, progress on stderr
store_backlog() {
  python3 - "$HERE/lib" "$DMQ_URL" "$CMD_1" "$1" "$STORE_BATCH" "$STORE_THREADS" "$2" "$PARAMS_BYTES" "$STORE_MAX" <<'PY'
import json, sys, threading, time
lib, url, cmd, n, batch, threads, delay, pbytes, store_max = sys.argv[1:]
sys.path.insert(0, lib)
from post import Poster, check  # noqa: E402
n, batch, threads, delay, pbytes, store_max = int(n), int(batch), int(threads), int(delay), int(pbytes), float(store_max)


def params(k):  # exactly pbytes bytes of JSON text
    head = '{"order_id":"%010d","user_id":%d,"sku":"SKU-%05d","note":"' % (k, k % 999983, k % 99991)
    return head + "x" * max(0, pbytes - len(head) - 2) + '"}'


assert len(params(1)) == pbytes or pbytes < 60
item = '{"project":"bench","cmd":"%s","params":%%s,"bucket":"k%%d","delay_ms":%d}' % (cmd, delay)
lock = threading.Lock()
state = {"next": 0, "stored": 0, "posts": 0, "late": False, "step": 1_000_000}
progress, errors = [], []
t0 = time.monotonic()
deadline = t0 + store_max


def work():
    p = Poster(url)
    try:
        while True:
            with lock:
                if errors or state["next"] >= n:
                    return
                if time.monotonic() > deadline:
                    state["late"] = True
                    return
                first = state["next"]
                m = min(batch, n - first)
                state["next"] += m
            body = ("[" + ",".join(item % (json.dumps(params(k)), k) for k in range(first, first + m)) + "]").encode()
            check(*p.post(body), m)
            with lock:
                state["stored"] += m
                state["posts"] += 1
                if state["stored"] >= state["step"]:
                    dt = time.monotonic() - t0
                    progress.append([state["stored"], round(dt, 1)])
                    print(f"[backlog] stored {state['stored']:,} in {dt:.0f} s", file=sys.stderr, flush=True)
                    state["step"] += 1_000_000
    except SystemExit as e:
        errors.append(str(e))
    except Exception as e:  # noqa: BLE001 - reported, makes the run fail
        errors.append(repr(e))


ts = [threading.Thread(target=work) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
dt = time.monotonic() - t0
if errors:
    sys.exit("storing the backlog failed: " + errors[0])
print(json.dumps({"asked": n, "msgs": state["stored"], "posts": state["posts"], "seconds": round(dt, 1),
                  "msgs_per_s": round(state["stored"] / dt, 1), "stopped_at_store_max": state["late"],
                  "params_bytes": len(params(1)), "progress": progress}))
PY
}

# idle_sample SECONDS STEP name=PID...: RSS and CPU of each process; JSON
idle_sample() {
  python3 - "$@" <<'PY'
import json, os, sys, time
dur, step = float(sys.argv[1]), float(sys.argv[2])
procs = dict(a.split("=") for a in sys.argv[3:])
HZ = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    s = open(f"/proc/{pid}/stat").read()
    f = s[s.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])


def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def machine():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4], sum(v[:8])


t0, m0 = time.monotonic(), machine()
c0 = {n: ticks(p) for n, p in procs.items()}
series = {n: [] for n in procs}
while True:
    t = time.monotonic() - t0
    for n, p in procs.items():
        series[n].append([round(t, 1), rss(p)])
    if t >= dur:
        break
    time.sleep(min(step, max(dur - t, 0.01)))
dt, m1 = time.monotonic() - t0, machine()
out = {"seconds": round(dt, 1), "hz": HZ,
       "machine_busy_cores": round((m1[0] - m0[0]) / max(m1[1] - m0[1], 1) * (os.cpu_count() or 1), 2)}
for n, p in procs.items():
    c = ticks(p) - c0[n]
    r = [x[1] for x in series[n]]
    out[n] = {"cpu_ticks": c, "cpu_pct": round(100.0 * c / HZ / dt, 3), "rss_kb_min": min(r), "rss_kb_max": max(r),
              "rss_kb_first": r[0], "rss_kb_last": r[-1], "rss_kb": series[n]}
print(json.dumps(out))
PY
}

# backlog_line: the log line of the backlog's record (JSON on stdin)
backlog_line() {
  python3 -c "$(cat <<'PY'
import json, sys
r = json.load(sys.stdin)
print(f"backlog {r['messages']:,}: {r['bytes_per_msg']:.0f} bytes/message in Redis; "
      f"dmq server ready in {r['server_ready_s']} s, RSS {r['server_rss_mb_min']}-{r['server_rss_mb_max']} MB, "
      f"CPU {r['server_cpu_pct']}% of a core over {r['idle_s']} s; dmq client RSS {r['client_rss_mb_min']}-"
      f"{r['client_rss_mb_max']} MB, CPU {r['client_cpu_pct']}%; Redis CPU {r['redis_cpu_pct']}%, "
      f"{r['redis_commands_per_s']} commands/s; checks {r['checks']}")
PY
)"
}

"${MEM[@]}" info "$REDIS_PORT" >"$TMP/info0"
sink_reset  # start_nginx probed it
CLIENT_RSS0=$(rss_kb "$CLIENT_PID")
log "storing the backlog: $BACKLOG_N messages due in $BACKLOG_DELAY_MS ms, params $PARAMS_BYTES bytes (no new POST after ${STORE_MAX}s)"
STORE=$(store_backlog "$BACKLOG_N" "$BACKLOG_DELAY_MS") || die "storing the backlog failed"
STORED=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["msgs"])' "$STORE")
QUEUED=$("${RCLI[@]}" zcard "$Q")
CLIENT_RSS1=$(rss_kb "$CLIENT_PID")
CLIENT_HWM=$(hwm_kb "$CLIENT_PID")
log "stored $STORED: ${STORE:0:300}"
(( QUEUED == STORED )) || die "the queue holds $QUEUED members after storing $STORED"
"${MEM[@]}" info "$REDIS_PORT" >"$TMP/info1"
(( $(sink_lines) == 0 )) || die "the sink got requests before the dispatcher started"

QUIET=$(settle)
T0=$(date +%s.%N)
server_start idle
wait_for 120 server_ready || die "dmq server not ready after 120 s with the backlog (see $TMP/server-idle.log)"
T1=$(date +%s.%N)
SRV_TICKS0=$(ticks "$SERVER_PID") REDIS_TICKS0=$(ticks "$REDIS_PID")
log "dmq server ready after $(echo "$T1 - $T0" | bc) s; waiting (at most ${AUDIT_MAX}s) for its start-up audit (SCANs) to end"
read -r AUDIT_S AUDIT_SCANS <<<"$(wait_audit "$AUDIT_MAX")"
T2=$(date +%s.%N)
SRV_TICKS1=$(ticks "$SERVER_PID") REDIS_TICKS1=$(ticks "$REDIS_PID")
CMDS0=$(commands)
log "start-up audit: $AUDIT_SCANS SCAN calls, the last $AUDIT_S s after the start; sampling dmq idle for ${IDLE_S}s"
idle_sample "$IDLE_S" "$IDLE_SAMPLE" server="$SERVER_PID" client="$CLIENT_PID" redis="$REDIS_PID" >"$TMP/idle.json"
CMDS1=$(commands)
SERVER_HWM=$(hwm_kb "$SERVER_PID")
(( $(sink_lines) == 0 )) || die "the sink got $(sink_lines) deliveries of the backlog, due in $BACKLOG_DELAY_MS ms"
server_stop
read -ra LOGS <<<"$(log_counts "$TMP/server-idle.log")"
grep -E ' (error|warning) ' "$TMP/server-idle.log" | head -n 20 >"$TMP/server-idle.errors" || true
python3 - "$STORE" "$TMP/info0" "$TMP/info1" "$TMP/idle.json" "$QUIET" "$T0" "$T1" "$((CMDS1 - CMDS0))" \
  "$CLIENT_RSS0" "$CLIENT_RSS1" "$CLIENT_HWM" "$SERVER_HWM" "$QUEUED" "${LOGS[0]}" "${LOGS[1]}" \
  "$TMP/server-idle.errors" "$AUDIT_S" "$AUDIT_SCANS" "$T2" "$((SRV_TICKS1 - SRV_TICKS0))" "$((REDIS_TICKS1 - REDIS_TICKS0))" \
  >>"$RECORDS" <<'PY'
import json, os, sys
(store, i0, i1, idle, quiet, t0, t1, cmds, crss0, crss1, chwm, shwm, queued, lerr, lwarn, errf,
 audit_s, audit_scans, t2, a_srv, a_redis) = sys.argv[1:]
hz, a_dt = os.sysconf("SC_CLK_TCK"), float(t2) - float(t1)
store, idle = json.loads(store), json.load(open(idle))
i0, i1 = json.load(open(i0)), json.load(open(i1))
n = store["msgs"]
d = lambda k: i1.get(k, 0) - i0.get(k, 0)
mb = lambda kb: round(kb / 1024, 1)
checks = {"queued_all": int(queued) == n, "expiring_keys": d("db0_expires") == n,
          "server_log_errors": int(lerr) == 0, "no_delivery": True}
print(json.dumps({"case": "backlog", "run": 1, "messages": n, "store": store,
  "bytes_per_msg": round(d("used_memory") / n, 1), "rss_bytes_per_msg": round(d("used_memory_rss") / n, 1),
  "used_memory_mb": mb(i1["used_memory"] / 1024), "used_memory_rss_mb": mb(i1["used_memory_rss"] / 1024),
  "server_ready_s": round(float(t1) - float(t0), 3),
  "audit_s": round(float(audit_s), 1), "audit_scan_calls": int(audit_scans),
  "audit_server_cpu_pct": round(100.0 * int(a_srv) / hz / a_dt, 2), "audit_redis_cpu_pct": round(100.0 * int(a_redis) / hz / a_dt, 1),
  "server_rss_mb_min": mb(idle["server"]["rss_kb_min"]), "server_rss_mb_max": mb(idle["server"]["rss_kb_max"]),
  "server_rss_peak_mb": mb(int(shwm)), "server_cpu_pct": idle["server"]["cpu_pct"],
  "server_cpu_ticks": idle["server"]["cpu_ticks"],
  "client_rss_mb_before_store": mb(int(crss0)), "client_rss_mb_after_store": mb(int(crss1)),
  "client_rss_peak_mb": mb(int(chwm)),
  "client_rss_mb_min": mb(idle["client"]["rss_kb_min"]), "client_rss_mb_max": mb(idle["client"]["rss_kb_max"]),
  "client_cpu_pct": idle["client"]["cpu_pct"], "redis_cpu_pct": idle["redis"]["cpu_pct"],
  "redis_rss_mb_min": mb(idle["redis"]["rss_kb_min"]), "redis_rss_mb_max": mb(idle["redis"]["rss_kb_max"]),
  "redis_commands_idle": int(cmds), "redis_commands_per_s": round(int(cmds) / idle["seconds"], 2),
  "idle_s": idle["seconds"], "machine_busy_cores": idle["machine_busy_cores"], "idle": idle,
  "server_log_errors": int(lerr), "server_log_warnings": int(lwarn),
  "server_log_lines": open(errf).read().splitlines(),
  "checks": checks, "ok": all(checks.values()), "settle": json.loads(quiet)}))
PY
log "$(tail -n1 "$RECORDS" | backlog_line)"

# ---------------------------------------------------------------- 2. drains
if [[ $DRAIN_ON_BACKLOG != 1 ]]; then
  log "DRAIN_ON_BACKLOG=$DRAIN_ON_BACKLOG: emptying Redis before the drains"
  flush
  STORED=0
fi

# drain_run N RUN: one drain of N due messages to bench:one:consumer
drain_run() {
  local n=$1 run=$2 out="$TMP/drain-$1-$2" pre quiet t0 wpid queued due wrc=0 logs hwm sc0 sc1
  sink_reset
  pre=$("${POST[@]}" preload "$DMQ_URL" bench "$CMD_1" "$n" "$PRELOAD_BATCH" "$PRELOAD_THREADS" 0 "$out.ids") ||
    die "preload failed"
  CLEANUP_RM+=("$out.ids")
  queued=$("${RCLI[@]}" zcard "$Q")
  (( queued == STORED + n )) || die "after the preload the queue holds $queued members, not $STORED + $n"
  (( $(sink_lines) == 0 )) || die "the sink got requests before the dispatcher started"
  quiet=$(settle)
  sc0=$(scans)
  t0=$(date +%s.%N)
  server_start "$n-$run"
  ( until (( $(sink_lines) >= n )); do
      (( $(date +%s) - ${t0%.*} < DRAIN_MAX )) || exit 1
      kill -0 "$SERVER_PID" 2>/dev/null || exit 2
      sleep 0.1
    done ) &
  wpid=$!
  "${CPUSAMPLE[@]}" sample "$out.cpu" "$wpid" dmq="$SERVER_PID" redis="$REDIS_PID" nginx="$NGINX_WORKER"
  wait "$wpid" || wrc=$?
  (( wrc != 2 )) || die "dmq server died during the drain ($(wait "$SERVER_PID" 2>/dev/null; echo "exit $?"); see $TMP/server-$n-$run.log)"
  (( wrc == 0 )) || log "WARNING: $n run $run: only $(sink_lines) of $n deliveries after ${DRAIN_MAX}s"
  sleep 1.5   # late duplicates or retries would show up here
  queued=$("${RCLI[@]}" zcard "$Q")
  due=$(due_now)
  hwm=$(hwm_kb "$SERVER_PID")
  sc1=$(scans)
  server_stop
  read -ra logs <<<"$(log_counts "$TMP/server-$n-$run.log")"
  grep -E ' (error|warning) ' "$TMP/server-$n-$run.log" | head -n 20 >"$out.errors" || true
  python3 "$HERE/lib/sinklog.py" summary "$SINK_LOG" "$out.ids" c1 "$t0" >"$out.sum"
  python3 - "$n" "$run" "$pre" "$out.sum" "$out.cpu" "$quiet" "$queued" "$due" "$STORED" "$hwm" "${logs[0]}" "${logs[1]}" \
    "$out.errors" "$((sc1 - sc0))" >>"$RECORDS" <<'PY'
import json, sys
n, run, pre, sumf, cpuf, quiet, queued, due, backlog, hwm, lerr, lwarn, errf, scans = sys.argv[1:]
s = json.load(open(sumf))
checks = {"sink": s["ok"], "nothing_due_after": int(due) == 0, "backlog_untouched": int(queued) == int(backlog),
          "server_log_errors": int(lerr) == 0}
print(json.dumps({"case": f"due_{n}", "n": int(n), "run": int(run), "backlog": int(backlog),
  "preload": json.loads(pre), "deliveries_per_s": s.get("deliveries_per_s"), "msgs_per_s": s.get("msgs_per_s"), "span_s": s.get("span_s"),
  "start_to_first_s": s.get("from_server_start_to_first_s"), "start_to_last_s": s.get("from_server_start_to_last_s"),
  "queued_after": int(queued), "due_after": int(due), "audit_scan_calls": int(scans), "server_rss_peak_mb": round(int(hwm) / 1024, 1),
  "server_log_errors": int(lerr), "server_log_warnings": int(lwarn), "server_log_lines": open(errf).read().splitlines(),
  "checks": checks, "ok": all(checks.values()), "sink": s, "cpu_pct": json.load(open(cpuf)),
  "settle": json.loads(quiet)}))
PY
  log "$n due, run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/dline.py"); dmq server peak RSS $((hwm / 1024)) MB; checks $(tail -n1 "$RECORDS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"])')"
  # delete the drained records (their ids), so that every round starts from the same Redis
  awk '{print "UNLINK dmq:{bench}:m:" $1}' "$out.ids" | "${RCLI[@]}" --pipe >/dev/null ||
    die "deleting the drained records failed"
}

LAST_BIG=0 BIG_DONE=0 SMALL_DONE=0
for run in $(seq "$(( RUNS > RUNS_BIG ? RUNS : RUNS_BIG ))"); do
  if (( run <= RUNS )); then drain_run "$SMALL_N" "$run"; SMALL_DONE=$run; fi
  if (( run <= RUNS_BIG )); then
    if (( BIG_DONE > 0 && SECONDS - T_START + LAST_BIG * 12 / 10 > TIME_BUDGET )); then
      log "skipping the $BIG_N drain of round $run: it would end after TIME_BUDGET=${TIME_BUDGET}s (the last took ${LAST_BIG}s)"
    else
      t=$SECONDS
      drain_run "$BIG_N" "$run"
      LAST_BIG=$((SECONDS - t)) BIG_DONE=$run
    fi
  fi
done
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

python3 - "$RECORDS" <<PY
import json, sys
sys.path.insert(0, "$HERE/lib")
import result
recs = [json.loads(l) for l in open(sys.argv[1])]
small, big = "due_$SMALL_N", "due_$BIG_N"
medians = result.by_case([r for r in recs if r["case"] != "backlog"], {
    "deliveries_per_s": "deliveries_per_s", "span_s": "span_s", "start_to_first_s": "start_to_first_s",
    "preload_msgs_per_s": lambda r: r["preload"]["msgs_per_s"], "server_rss_peak_mb": "server_rss_peak_mb",
    "audit_scan_calls": "audit_scan_calls",
    **{f"cpu_{p}": (lambda r, p=p: r["cpu_pct"].get(p)) for p in ("dmq", "redis", "nginx", "other_cores")}})
b = next(r for r in recs if r["case"] == "backlog")
medians["backlog"] = result.by_case([b], {k: k for k in (
    "messages", "bytes_per_msg", "rss_bytes_per_msg", "server_ready_s", "audit_s", "audit_scan_calls",
    "audit_server_cpu_pct", "audit_redis_cpu_pct", "server_rss_mb_min", "server_rss_mb_max",
    "server_rss_peak_mb", "server_cpu_pct", "client_rss_mb_min", "client_rss_mb_max", "client_rss_mb_after_store",
    "client_rss_peak_mb", "client_cpu_pct", "redis_cpu_pct", "redis_commands_per_s")})["backlog"]
medians["backlog"]["store_msgs_per_s"] = result.agg([b["store"]["msgs_per_s"]])
ratio = None
if small in medians and big in medians:
    ratio = medians[big]["deliveries_per_s"]["median"] / medians[small]["deliveries_per_s"]["median"]
params = {"runs": $RUNS, "runs_big": $RUNS_BIG, "backlog_n": $BACKLOG_N, "backlog_stored": b["messages"],
          "backlog_delay_ms": $BACKLOG_DELAY_MS, "params_bytes": $PARAMS_BYTES, "store_batch": $STORE_BATCH,
          "store_threads": $STORE_THREADS, "store_max_s": $STORE_MAX, "idle_s": $IDLE_S, "audit_max_s": $AUDIT_MAX, "small_n": $SMALL_N,
          "big_n": $BIG_N, "drain_on_backlog": $DRAIN_ON_BACKLOG, "preload_batch": $PRELOAD_BATCH,
          "concurrency": $CONCURRENCY, "consumer_timeout_ms": $CONSUMER_TIMEOUT,
          "claim_batch": "${CLAIM_BATCH:-default}", "rate_per_sec": $RATE_PER_SEC, "time_budget_s": $TIME_BUDGET}
out = result.write("backlog", recs, medians, params,
                   title="big backlogs (issue 15): 10M waiting messages idle; 1M due at once against 50k",
                   headline=[("backlog", ["backlog", "messages"]), ("bytes/msg", ["backlog", "bytes_per_msg"]),
                             ("dmq server RSS max MB", ["backlog", "server_rss_mb_max"]),
                             ("idle CPU %", ["backlog", "server_cpu_pct"]),
                             (f"{$SMALL_N:,} due deliveries/s", [small, "deliveries_per_s"]),
                             (f"{$BIG_N:,} due deliveries/s", [big, "deliveries_per_s"])],
                   started="$START", extra={"ratio_big_to_small": ratio, "dmq_sha256": "$DMQ_SHA",
                                            "note": "dmq client, dmq server, redis-server and nginx share this machine"})
doc = json.load(open(out))
f = result.fmt
pc = lambda a: "?" if not a else f"{a['median']:.0f}"
st = b["store"]
print()
print(f"Big backlogs, {doc['started_utc']}: {b['messages']:,} waiting messages (asked {st['asked']:,}; "
      f"{'stopped at STORE_MAX' if st['stopped_at_store_max'] else 'all stored'}), params {st['params_bytes']} bytes, due in $BACKLOG_DELAY_MS ms")
print()
print("| backlog | figure |")
print("|---|---|")
print(f"| stored through the batch API | {st['msgs_per_s']:,.0f} msg/s ({st['seconds']:.0f} s, {st['posts']:,} POSTs of $STORE_BATCH, $STORE_THREADS connections) |")
print(f"| Redis used_memory per waiting message | {b['bytes_per_msg']:.0f} bytes (used_memory {b['used_memory_mb']:,.0f} MB, RSS {b['used_memory_rss_mb']:,.0f} MB) |")
print(f"| dmq server: start → subscribed (ready) | {b['server_ready_s']} s |")
print(f"| dmq server's start-up audit (SCANs of the whole keyspace): start → last SCAN; calls; CPU meanwhile: dmq server, Redis | "
      f"{b['audit_s']} s; {b['audit_scan_calls']:,}; {b['audit_server_cpu_pct']}%, {b['audit_redis_cpu_pct']}% of a core |")
print(f"| then, dmq server RSS over {b['idle_s']} s idle, min–max (peak since start) | {b['server_rss_mb_min']}–{b['server_rss_mb_max']} MB ({b['server_rss_peak_mb']} MB) |")
print(f"| dmq server CPU over {b['idle_s']} s idle | {b['server_cpu_pct']}% of a core ({b['server_cpu_ticks']} ticks of 1/{b['idle']['hz']} s) |")
print(f"| dmq client RSS: before the store, after it (peak); idle min–max | {b['client_rss_mb_before_store']}, {b['client_rss_mb_after_store']} MB ({b['client_rss_peak_mb']} MB); {b['client_rss_mb_min']}–{b['client_rss_mb_max']} MB |")
print(f"| dmq client CPU idle | {b['client_cpu_pct']}% of a core |")
print(f"| Redis while dmq idles: CPU, commands/s | {b['redis_cpu_pct']}%, {b['redis_commands_per_s']} |")
print(f"| checks | {b['checks']}; others used {b['machine_busy_cores']} cores incl. ours |")
print()
print(f"Drains {'on top of the backlog (same queue)' if $DRAIN_ON_BACKLOG == 1 else 'on an empty Redis'}; median (min–max) over runs")
print()
print("| due at once | runs | deliveries/s | first → last, s | start → first, s | dmq server peak RSS, MB | CPU % dmq / redis / nginx; others, cores | start-up audit SCANs during the drain | lost / dup / retried |")
print("|---|---|---|---|---|---|---|---|---|")
for c in (small, big):
    if c not in medians:
        continue
    m, rs = medians[c], [r for r in recs if r["case"] == c]
    cons = [r["sink"]["consumers"]["c1"] for r in rs]
    oc = m["cpu_other_cores"]
    print(f"| {rs[0]['n']:,} | {len(rs)} | {f(m['deliveries_per_s'], 0)} | {f(m['span_s'], 2)} | {f(m['start_to_first_s'], 2)} | "
          f"{f(m['server_rss_peak_mb'], 1)} | {' / '.join(pc(m['cpu_' + p]) for p in ('dmq', 'redis', 'nginx'))}; "
          f"{'?' if not oc else format(oc['median'], '.2f')} | {f(m['audit_scan_calls'], 0)} | {sum(x['missing'] for x in cons)} / {sum(x['duplicates'] for x in cons)} / {sum(x['retries'] for x in cons)} |")
print()
if ratio:
    print(f"{$BIG_N:,} ÷ {$SMALL_N:,} deliveries/s (medians): {ratio:.2f}")
print(f"Failed checks: {', '.join(doc['failed_runs']) or 'none'}; error lines in dmq server's logs: "
      f"{sum(r['server_log_errors'] for r in recs)}")
seen = {}
for r in recs:  # each distinct error or warning line once (without its time), with the runs it was in
    for line in r.get("server_log_lines") or []:
        seen.setdefault(line.split(" ", 2)[-1], []).append(f"{r['case']}#{r['run']}")
for line, where in seen.items():
    print(f"  dmq server log, {len(where)} run(s) ({', '.join(where[:4])}{', ...' if len(where) > 4 else ''}): {line}")
if doc["busy_runs"]:
    print(f"Measured while the machine was busy with other work: {', '.join(doc['busy_runs'])}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
