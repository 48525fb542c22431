#!/usr/bin/env bash
# Redis ceiling of dmq's claim script (issue 4): redis-benchmark replaying the exact claim
# call `dmq server` makes, unpipelined and -P RB_PIPELINE. See bench/README.md.
# (The save-script and nginx `return 200` ceilings are measured by bench/ingest.sh.)
#
# 1. Captures the call: Redis MONITOR while `dmq server` claims one due message of
#    bench:one:consumer (EVALSHA <claim-1 sha> 1 <queue> <base> <consumer> <now_ms>
#    <lease_ms> <max> <shared rate>; lib/capture.py claimcall). Its sha is checked against
#    src/storage/scripts/claim-1.lua (with lib/record.lua spliced in, as the build does).
# 2. Per measurement: empties Redis, stores PREFILL due messages (delay 0) through
#    `dmq client` (lib/post.py preload; dispatcher stopped), then replays the call
#    CALLS = CLAIM_IDS / max times with now_ms = the replay's start (after every due
#    time) and dmq's lease and max (CLAIM_MAX overrides max). Each call leases the next
#    `max` due ids exactly as in a drain (ZRANGE BYSCORE, then per id HGET status, HMGET
#    data, ZADD to now + lease, HINCRBY attempts, HSET doing): a leased id is no longer
#    due, so every call claims new ids. PREFILL has a margin, and the run checks that
#    due ids were left at the end (so every call claimed a full `max`) and that
#    CALLS × max ids were leased. ids/s = calls/s × max. Acks (ack-2, one call per
#    delivery in a drain) are not replayed: the claim is half of Redis' work per delivery.
# Prints a markdown table (median (min-max) over the rounds), writes
# bench/results/ceilings-<timestamp>.json; the last line of stdout is `RESULT <json path>`.
#
# Knobs (environment): RUNS=3, CLAIM_IDS=200000 (ids claimed per measurement),
# CLAIM_MAX (ids per call; empty: what dmq sent, its in-flight window, 64 by default),
# RB_CLIENTS=50, RB_PIPELINE=16, PRELOAD_BATCH=1000, PRELOAD_THREADS=2, QUIET_MAX=60,
# QUIET_CORES=0.3, DMQ_BIN=build/dmq, KEEP_TMP=0; CONCURRENCY, CLAIM_BATCH,
# LEASE_MARGIN_MS, CONSUMER_TIMEOUT as for drain.sh (they shape the captured call).
set -euo pipefail
BENCH_NAME=ceilings
RUNS=${RUNS:-3}
CLAIM_IDS=${CLAIM_IDS:-200000}
CLAIM_MAX=${CLAIM_MAX:-}
RB_CLIENTS=${RB_CLIENTS:-50}
RB_PIPELINE=${RB_PIPELINE:-16}
PRELOAD_BATCH=${PRELOAD_BATCH:-1000}
PRELOAD_THREADS=${PRELOAD_THREADS:-2}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install -y redis-server)" >&2; exit 1; }
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"
CAPTURE=(python3 "$HERE/lib/capture.py")
Q='dmq:{bench}:q:c1'

# ---------------------------------------------------------------- capture the claim call
flush
sink_reset
# line-buffered: redis-cli's stdout to a file is block-buffered, and a killed redis-cli
# would lose the tail
stdbuf -oL "${RCLI[@]}" monitor >"$TMP/monitor.txt" 2>&1 &
MON_PID=$!; PIDS+=("$MON_PID")
wait_for 10 grep -q OK "$TMP/monitor.txt" || die "redis-cli monitor did not start"
"${POST[@]}" preload "$DMQ_URL" bench "$CMD_1" 1 1 1 0 "$TMP/capture.ids" >/dev/null || die "capture: POST failed"
server_start capture
wait_for 20 sink_has 1 || die "capture: dmq server delivered nothing in 20 s (see $TMP/server-capture.log)"
server_stop
wait_for 10 "${CAPTURE[@]}" claimcall "$TMP/monitor.txt" "$Q" 6 || die "no claim call on $Q in $TMP/monitor.txt"
kill "$MON_PID"; wait "$MON_PID" 2>/dev/null || true
mapfile -d '' CLAIM < <("${CAPTURE[@]}" claimcall "$TMP/monitor.txt" "$Q" 6) ||
  die "no claim call on $Q in $TMP/monitor.txt"
# EVALSHA sha 1 queue base consumer now lease max rate
(( ${#CLAIM[@]} == 10 )) || die "unexpected claim call: ${CLAIM[*]}"
# the text dmq loads: claim-1.lua with its "-- uses record.lua" line replaced by
# lib/record.lua, as cmake/embed_scripts.cmake does
WANT_SHA=$(python3 - "$ROOT/src/storage/scripts" <<'PY'
import hashlib, os, sys
d = sys.argv[1]
text = open(os.path.join(d, "claim-1.lua"), "rb").read()
lib = os.path.join(d, "lib", "record.lua")
if os.path.exists(lib):
    text = text.replace(b"-- uses record.lua\n", open(lib, "rb").read())
print(hashlib.sha1(text).hexdigest())
PY
)
SHA_MATCH=true
[[ ${CLAIM[1]} == "$WANT_SHA" ]] || { SHA_MATCH=false; log "WARNING: the claim sha ${CLAIM[1]} is not sha1(src/storage/scripts/claim-1.lua) = $WANT_SHA (src/ edited since the build?)"; }
LEASE=${CLAIM[7]}
MAX=${CLAIM_MAX:-${CLAIM[8]}}
CALLS=$(( (CLAIM_IDS + MAX - 1) / MAX ))
# margin: redis-benchmark may send up to clients × pipeline calls more than -n
PREFILL=$(( CALLS * MAX + RB_CLIENTS * RB_PIPELINE * MAX + 1000 ))
log "claim call: EVALSHA ${CLAIM[1]:0:12}… 1 ${CLAIM[3]} ${CLAIM[4]} ${CLAIM[5]} <now_ms> lease ${LEASE} max ${CLAIM[8]} rate ${CLAIM[9]}; replay: max $MAX, $CALLS calls, prefill $PREFILL due messages"

# ---------------------------------------------------------------- measurement
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
rb_csv_rps() {  # the requests/s of redis-benchmark --csv output on stdin
  python3 -c 'import sys; print(sys.stdin.read().strip().splitlines()[-1].strip().strip("\"").split("\",\"")[-7])'
}

claim_run() {
  local name=$1 run=$2 p=$3 out="$TMP/$1-$2" quiet now args tpid rbpid rps leased due_left
  flush
  "${POST[@]}" preload "$DMQ_URL" bench "$CMD_1" "$PREFILL" "$PRELOAD_BATCH" "$PRELOAD_THREADS" 0 "$out.ids" >"$out.pre" ||
    die "prefill failed"
  (( $("${RCLI[@]}" zcard "$Q") == PREFILL )) || die "prefill: the queue does not hold $PREFILL ids"
  "${RCLI[@]}" config resetstat >/dev/null
  quiet=$(settle)
  now=$(date +%s%3N)
  (( $("${RCLI[@]}" zcount "$Q" -inf "$now") == PREFILL )) || die "prefill: not every id is due at $now"
  args=("${CLAIM[@]}")
  args[6]=$now
  args[8]=$MAX
  timeout 600 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -n "$CALLS" -c "$RB_CLIENTS" -P "$p" --csv \
    "${args[@]}" >"$out.rb" 2>"$out.rb.err" &
  tpid=$!
  for _ in $(seq 60); do
    rbpid=$(cat /proc/"$tpid"/task/*/children 2>/dev/null | awk '{print $1; exit}')
    [[ -n $rbpid ]] && break
    sleep 0.05
  done
  "${CPUSAMPLE[@]}" sample "$out.cpu" "${rbpid:-0}" redis="$REDIS_PID"
  wait "$tpid" || die "redis-benchmark failed for $name: $(cat "$out.rb.err")"
  rps=$(rb_csv_rps <"$out.rb")
  leased=$("${RCLI[@]}" zcount "$Q" "($now" +inf)
  due_left=$("${RCLI[@]}" zcount "$Q" -inf "$now")
  "${RCLI[@]}" info commandstats | grep '^cmdstat_evalsha:' >"$out.cmd" || true
  python3 - "$name" "$run" "$p" "$rps" "$leased" "$due_left" "$out.cpu" "$quiet" "$out.cmd" "$out.pre" <<PY >>"$RECORDS"
import json, re, sys
name, run, p, rps, leased, due_left, cpuf, quiet, cmdf, pref = sys.argv[1:]
mx, calls = $MAX, $CALLS
leased, due_left = int(leased), int(due_left)
m = re.search(r"calls=(\d+),usec=(\d+)", open(cmdf).read() or "")
usec_per_id = int(m.group(2)) / leased if m and leased else None
checks = {"every_call_claimed_max": due_left > 0, "claimed_all_calls": leased >= calls * mx}
print(json.dumps({"case": name, "run": int(run), "pipeline": int(p), "max": mx, "calls": calls,
  "calls_per_s": float(rps), "ids_per_s": round(float(rps) * mx, 1), "leased": leased, "due_left": due_left,
  "redis_evalsha_calls": int(m.group(1)) if m else None, "redis_usec_per_id": round(usec_per_id, 2) if usec_per_id else None,
  "prefill": json.load(open(pref)), "cpu_pct": json.load(open(cpuf)), "settle": json.loads(quiet),
  "checks": checks, "ok": all(checks.values())}))
PY
  log "$name run $run: $(tail -n1 "$RECORDS" | python3 -c '
import json, sys
r = json.load(sys.stdin)
c = r["cpu_pct"]
print("{:,.0f} calls/s = {:,.0f} ids/s (max {}), Redis {} us/id, {} leased, {} due left; cpu% redis {} redis-benchmark {}, other {} cores{}".format(
    r["calls_per_s"], r["ids_per_s"], r["max"], r["redis_usec_per_id"], r["leased"], r["due_left"],
    c.get("redis"), c.get("load"), c.get("other_cores"), "" if r["ok"] else "; FAILED " + str(r["checks"])))')"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  claim_run claim "$run" 1
  claim_run claim_P "$run" "$RB_PIPELINE"
done
flush
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

python3 - "$RECORDS" "$(redis-server --version)" <<PY
import json, os, platform, statistics, sys, datetime
sys.path.insert(0, "$HERE/lib")
import result
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in recs: by.setdefault(r["case"], []).append(r)
def agg(rs, f):
    v = [f(r) for r in rs]
    v = [x for x in v if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} if v else None
summary = {k: {"calls_per_s": agg(rs, lambda r: r["calls_per_s"]), "ids_per_s": agg(rs, lambda r: r["ids_per_s"]),
               "redis_usec_per_id": agg(rs, lambda r: r["redis_usec_per_id"]),
               "cpu_redis": agg(rs, lambda r: r["cpu_pct"].get("redis")),
               "cpu_redis_benchmark": agg(rs, lambda r: r["cpu_pct"].get("load")),
               "cpu_other_cores": agg(rs, lambda r: r["cpu_pct"].get("other_cores")),
               "pipeline": rs[0]["pipeline"], "max": rs[0]["max"], "all_ok": all(r["ok"] for r in rs)}
           for k, rs in by.items()}
params = {"runs": $RUNS, "claim_ids": $CLAIM_IDS, "max": $MAX, "calls": $CALLS, "prefill": $PREFILL,
          "lease_ms": $LEASE, "rb_clients": $RB_CLIENTS, "rb_pipeline": $RB_PIPELINE,
          "captured_call": "EVALSHA ${CLAIM[1]} 1 ${CLAIM[3]} ${CLAIM[4]} ${CLAIM[5]} <now_ms> ${CLAIM[7]} ${CLAIM[8]} ${CLAIM[9]}",
          "sha_matches_source": "$SHA_MATCH" == "true"}
out = result.write("ceilings", recs, summary, params, title="dmq Redis ceilings: claim-1 replayed by redis-benchmark (issue 4)",
                   headline=[(f"{k} ids/s", [k, "ids_per_s"]) for k in sorted(summary)],
                   started="$START", extra={"redis": sys.argv[2], "note": "redis-server and redis-benchmark share this machine"})
doc = json.load(open(out))
f = lambda a, d=0: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
n0 = lambda a: "?" if not a else f"{a['median']:.0f}"
print()
print(f"Claim ceiling, {doc['started_utc']}, {$RUNS} runs; redis-benchmark -c {$RB_CLIENTS} of dmq's claim-1 call "
      f"(max {$MAX} ids a call, lease {$LEASE} ms), {$CALLS:,} calls over {$PREFILL:,} due messages; median (min–max) over runs")
print()
print("| scenario | claimed ids/s | calls/s | Redis µs per claimed id | CPU, % of a core: redis / redis-benchmark; others, cores |")
print("|---|---|---|---|---|")
for k, label in (("claim", "claim-1, unpipelined"), ("claim_P", f"claim-1, -P {$RB_PIPELINE}")):
    s = summary.get(k)
    if not s: continue
    oc = s["cpu_other_cores"]
    print(f"| {label} | {f(s['ids_per_s'])} | {f(s['calls_per_s'])} | {f(s['redis_usec_per_id'], 2)} | "
          f"{n0(s['cpu_redis'])} / {n0(s['cpu_redis_benchmark'])}; {'?' if not oc else format(oc['median'], '.2f')} |")
print()
bad = doc["failed_runs"]
print(f"Runs where a call claimed fewer than {$MAX} ids or fewer ids were leased than claimed: {', '.join(bad) or 'none'}")
noisy = doc["busy_runs"]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
