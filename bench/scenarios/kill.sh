#!/usr/bin/env bash
# W5: kill -9 of dmq's dispatcher in the middle of a drain, then a restart (issue 4).
# See bench/README.md.
#
# With the dispatcher stopped, stores N messages that are already due (batch POSTs to a
# `dmq client`, as bench/drain.sh), starts `dmq server`, and KILL_AFTER_S after its start
# (KILL_FROM=start, the default) or after the first delivery reached the sink
# (KILL_FROM=first) sends it SIGKILL. Right after the kill it reads, from Redis, the
# deliveries in flight: queue members whose score is a lease running past the kill
# (claimed, not acknowledged; dmq counts a delivery in flight from its claim, so these
# include the claimed-but-not-yet-sent ones). Then it restarts `dmq server` at once and
# waits (at most RECOVER_MAX s) until every posted id has reached every consumer.
# Reports per run: lost (must be 0), duplicates (each must be an id in flight at the
# kill), in flight at the kill (bound: (CONCURRENCY + CLAIM_AHEAD) × consumers: those
# sent, and those claimed ahead waiting for a slot, dispatch.claim_ahead), how many of those had
# reached nginx from the killed process (they come again: duplicates), recovery time
# (kill -> the first arrival of the last id; bounded by the lease: consumer timeout +
# dispatch.lease_margin_ms), kill -> last delivery (queues empty), restart -> first delivery.
# Prints a markdown table (median (min-max) over the rounds), writes
# bench/results/kill-<timestamp>.json; the last line of stdout is `RESULT <json path>`.
#
# Knobs (environment): RUNS=3, N=20000, CONSUMERS="1 2", KILL_FROM=start (or first),
# KILL_AFTER_S=1, RECOVER_MAX=120 (s), PRELOAD_BATCH=1000, PRELOAD_THREADS=2,
# CONCURRENCY=64, CLAIM_AHEAD=1000 (dmq's dispatch.claim_ahead: only for the bound),
# CLAIM_BATCH, LEASE_MARGIN_MS (dispatch.lease_margin_ms; empty: dmq's
# default, 10000), RATE_PER_SEC=1000000, CONSUMER_TIMEOUT=2000 (ms), QUIET_MAX=60,
# QUIET_CORES=0.3, DMQ_BIN=build/dmq, KEEP_TMP=0.
set -euo pipefail
BENCH_NAME=kill
RUNS=${RUNS:-3}
N=${N:-20000}
CONSUMERS=${CONSUMERS:-1 2}
KILL_FROM=${KILL_FROM:-start}
KILL_AFTER_S=${KILL_AFTER_S:-1}
RECOVER_MAX=${RECOVER_MAX:-120}
PRELOAD_BATCH=${PRELOAD_BATCH:-1000}
PRELOAD_THREADS=${PRELOAD_THREADS:-2}
[[ $KILL_FROM == start || $KILL_FROM == first ]] || { echo "KILL_FROM must be start or first" >&2; exit 2; }
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/dispatch.sh"

# the lease dmq gives a claimed delivery: the consumer's timeout + dispatch.lease_margin_ms
# (docs/configuration.md; src/dispatch/consumer_worker.cc)
LEASE_MS=$(( CONSUMER_TIMEOUT + ${LEASE_MARGIN_MS:-10000} ))
KILL_AFTER_US=$(python3 -c "print(int(float('$KILL_AFTER_S') * 1e6))")
[[ ${EPOCHREALTIME:-} == *.* ]] || die "needs bash >= 5 (EPOCHREALTIME)"
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
log "redis :$REDIS_PORT  dmq client :$HTTP_PORT  nginx sink :$NGINX_PORT  N=$N  runs $RUNS  consumers: $CONSUMERS  kill -9 ${KILL_AFTER_S}s after the $( [[ $KILL_FROM == start ]] && echo "server's start" || echo "first delivery")  lease ${LEASE_MS} ms"

# recovered WANT CONSUMERS...: the sink has WANT distinct (consumer, msg_id) pairs and the
# consumers' queues are empty (every delivery acknowledged, the in-flight ones included:
# a delivery that reached nginx from the killed process is made again once its lease ends)
recovered() {
  local want=$1 c; shift
  for c in "$@"; do (( $("${RCLI[@]}" zcard "dmq:{bench}:q:$c") == 0 )) || return 1; done
  (( $(python3 "$HERE/lib/sinklog.py" unique "$SINK_LOG") >= want ))
}

kill_run() {
  local k=$1 run=$2 cmd consumers want out="$TMP/kill-$1c-$2" pre quiet t0 anchor kill_s kill_ms
  local restart_s c queued=0 logs1 logs2 lines_at_kill recovered_ok=true now d
  cmd=CMD_$k; cmd=${!cmd}
  consumers=CONSUMERS_$k; consumers=${!consumers}
  want=$((N * k))
  flush
  sink_reset
  pre=$("${POST[@]}" preload "$DMQ_URL" bench "$cmd" "$N" "$PRELOAD_BATCH" "$PRELOAD_THREADS" 0 "$out.ids") ||
    die "preload failed"
  for c in $consumers; do queued=$((queued + $("${RCLI[@]}" zcard "dmq:{bench}:q:$c"))); done
  (( queued == want )) || die "after the preload the queues hold $queued deliveries, not $want"
  (( $(sink_lines) == 0 )) || die "the sink got requests before the dispatcher started"
  quiet=$(settle)
  # timestamps from bash's EPOCHREALTIME: no fork on the way to the kill (starting a
  # python3 can take a second on a loaded machine)
  t0=$EPOCHREALTIME
  server_start "$k-$run"
  if [[ $KILL_FROM == first ]]; then
    wait_for 30 sink_has 1 || die "no delivery within 30 s of the server's start (see $TMP/server-$k-$run.log)"
    anchor=$EPOCHREALTIME
  else
    anchor=$t0
  fi
  # the kill instant: KILL_AFTER_S after the anchor (a deliberate delay, not a wait for a state)
  now=$EPOCHREALTIME
  d=$(( ${anchor/./} + KILL_AFTER_US - ${now/./} ))
  if (( d > 0 )); then sleep "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))"; fi
  kill -0 "$SERVER_PID" 2>/dev/null || die "dmq server exited before the kill (see $TMP/server-$k-$run.log)"
  kill_s=$EPOCHREALTIME
  kill -9 "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  kill_ms=$(( ${kill_s/./} / 1000 ))
  lines_at_kill=$(sink_lines)
  # in flight at the kill: members leased past the kill (a due member has a score <= now;
  # a claim re-scores it to claim time + lease, an ack removes it)
  : >"$out.leased"
  for c in $consumers; do
    "${RCLI[@]}" zrangebyscore "dmq:{bench}:q:$c" "($kill_ms" +inf | sed "s/^/$c /" >>"$out.leased"
  done
  (( lines_at_kill < want )) ||
    log "WARNING: $k consumer(s) run $run: the drain was over before the kill ($lines_at_kill deliveries); lower N's time or KILL_AFTER_S"
  restart_s=$EPOCHREALTIME
  server_start "$k-$run-restart"
  if ! wait_for "$RECOVER_MAX" recovered "$want" $consumers; then
    recovered_ok=false
    log "WARNING: $k consumer(s) run $run: not every id arrived, or the queues were not empty, within ${RECOVER_MAX}s of the restart"
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || die "the restarted dmq server died (see $TMP/server-$k-$run-restart.log)"
  sleep 1.5   # late duplicates or retries would show up here
  queued=0
  for c in $consumers; do queued=$((queued + $("${RCLI[@]}" zcard "dmq:{bench}:q:$c"))); done
  server_stop
  logs1=($(log_counts "$TMP/server-$k-$run.log"))
  logs2=($(log_counts "$TMP/server-$k-$run-restart.log"))
  python3 "$HERE/lib/sinklog.py" kill "$SINK_LOG" "$out.ids" "${consumers// /,}" "$kill_s" "$restart_s" "$out.leased" >"$out.sum"
  cp "$SINK_LOG" "$out.sink"
  python3 - "$k" "$run" "$pre" "$out.sum" "$quiet" "$queued" "$((logs1[0] + logs2[0]))" "$((logs1[1] + logs2[1]))" \
    "$t0" "$kill_s" "$lines_at_kill" "$want" "$recovered_ok" >>"$RECORDS" <<PY
import json, sys
k, run, pre, sumf, quiet, queued, lerr, lwarn, t0, kill_s, at_kill, want, recovered = sys.argv[1:]
s = json.load(open(sumf))
k, want = int(k), int(want)
bound = ($CONCURRENCY + ${CLAIM_AHEAD:-1000}) * k
inflight = s["leased_at_kill"]
checks = {
    "none_lost": s["missing"] == 0,
    "none_unexpected": all(c["unexpected"] == 0 for c in s["consumers"].values()),
    "duplicates_within_in_flight": s["duplicates"] <= inflight and s["duplicates_not_leased"] == 0,
    "in_flight_within_bound": inflight <= bound,
    "queues_empty_after": int(queued) == 0,
    "killed_mid_drain": int(at_kill) < want,
    "recovered_in_time": recovered == "true",
}
print(json.dumps({"case": f"{k}c", "consumers": k, "run": int(run),
  "preload": json.loads(pre), "lost": s["missing"], "duplicates": s["duplicates"],
  "in_flight_at_kill": inflight, "in_flight_bound": bound,
  "in_flight_reached_nginx": s["leased_reached_sink"],
  "duplicates_not_in_flight": s["duplicates_not_leased"],
  "delivered_before_kill": s["before_kill"], "kill_after_start_s": round(float(kill_s) - float(t0), 3),
  "recovery_s": s["recovery_s"], "settled_s": s["settled_s"], "restart_to_first_s": s["restart_to_first_s"],
  "lease_s": $LEASE_MS / 1000, "queued_after": int(queued),
  "server_log_errors": int(lerr), "server_log_warnings": int(lwarn),
  "checks": checks, "ok": all(checks.values()), "sink": s, "settle": json.loads(quiet)}))
PY
  log "$k consumer(s) run $run: $(tail -n1 "$RECORDS" | python3 "$HERE/lib/dline.py")"
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  for k in $CONSUMERS; do kill_run "$k" "$run"; done
done
kill -0 "$CLIENT_PID" 2>/dev/null || die "dmq client exited during the benchmark"

python3 - "$RECORDS" <<PY
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
summary = {}
for k, rs in by.items():
    summary[k] = {
        **{key: agg(rs, lambda r, key=key: r[key]) for key in (
            "lost", "duplicates", "in_flight_at_kill", "in_flight_reached_nginx",
            "delivered_before_kill", "kill_after_start_s", "recovery_s", "settled_s", "restart_to_first_s")},
        "in_flight_bound": rs[0]["in_flight_bound"], "lease_s": rs[0]["lease_s"],
        "lost_total": sum(r["lost"] for r in rs),
        "duplicates_total": sum(r["duplicates"] for r in rs),
        "duplicates_not_in_flight_total": sum(r["duplicates_not_in_flight"] for r in rs),
        "all_ok": all(r["ok"] for r in rs),
        "server_log_errors": sum(r["server_log_errors"] for r in rs),
    }
params = {"runs": $RUNS, "n": $N, "consumers": "$CONSUMERS", "kill_from": "$KILL_FROM", "kill_after_s": $KILL_AFTER_S,
          "preload_batch": $PRELOAD_BATCH, "concurrency": $CONCURRENCY,
          "consumer_timeout_ms": $CONSUMER_TIMEOUT, "lease_ms": $LEASE_MS,
          "lease_margin_ms": "${LEASE_MARGIN_MS:-default}",
          "claim_batch": "${CLAIM_BATCH:-default}", "rate_per_sec": $RATE_PER_SEC}
out = result.write("kill", recs, summary, params, title="dmq W5: kill -9 of the dispatcher mid-drain, restart (issue 4)",
                   headline=[(f"{k[:-1]} consumer(s) recovery s", [k, "recovery_s"]) for k in sorted(summary)]
                            + [(f"{k[:-1]} consumer(s) duplicates", [k, "duplicates"]) for k in sorted(summary)],
                   started="$START", extra={"note": "dmq server, redis-server and nginx share this machine", "dmq_sha256": "$DMQ_SHA"})
doc = json.load(open(out))
f = lambda a, d=0: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
print()
print(f"W5 kill benchmark, {doc['started_utc']}, {$RUNS} runs, N = {$N:,} due messages, kill -9 of dmq server "
      f"{$KILL_AFTER_S} s after its {'start' if '$KILL_FROM' == 'start' else 'first delivery'}, restarted at once; "
      f"lease {$LEASE_MS} ms; median (min–max) over runs")
print()
print("| consumers | lost | duplicates | in flight at the kill (bound) | of which had reached nginx | delivered before the kill | recovery: kill → every id arrived, s | kill → last delivery (queues empty), s | restart → first delivery, s |")
print("|---|---|---|---|---|---|---|---|---|")
for k in sorted(summary):
    s = summary[k]
    print(f"| {k[:-1]} | {s['lost_total']} | {f(s['duplicates'])} | {f(s['in_flight_at_kill'])} ({s['in_flight_bound']}) | "
          f"{f(s['in_flight_reached_nginx'])} | {f(s['delivered_before_kill'])} | {f(s['recovery_s'], 2)} | {f(s['settled_s'], 2)} | {f(s['restart_to_first_s'], 2)} |")
print()
bad = [f"{r['case']}#{r['run']} ({', '.join(k for k, v in r['checks'].items() if not v)})" for r in recs if not r["ok"]]
print(f"Runs failing a check (lost, unknown id, a duplicate not in flight at the kill, in flight above the bound, "
      f"non-empty queue after, drain over before the kill, not recovered in time): {', '.join(bad) or 'none'}; "
      f"error lines in dmq server's logs: {sum(r['server_log_errors'] for r in recs)}")
noisy = doc["busy_runs"]
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
