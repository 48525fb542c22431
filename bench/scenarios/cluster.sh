#!/usr/bin/env bash
# Redis Cluster against one Redis, side by side in one run (issue 15). See bench/README.md,
# "Redis Cluster".
#
# Starts, on free loopback ports in a temp dir removed at exit: one redis-server (single)
# and a Redis Cluster of MASTERS masters without replicas (lib/cluster.sh), each with its
# own `dmq client`; an nginx sink for the drain. PROJECTS projects (one command each,
# "<project>:one:consumer", one consumer c_<project>, all on the sink's path /sink/c1), named so that their hash tags land
# on distinct masters ("dmq:{p0}:...", CLUSTER KEYSLOT / CLUSTER NODES); both targets get
# the same projects. Each round measures, for each target of REDIS (the second round in the
# other order, so that a trend in the machine's load does not favour one):
#   W2   wrk POST /api/message/batch, 100 messages a request, the ring of bodies going to each
#        project in turn (wrk/batch.lua with DMQ_PROJECTS), DURATION s; messages/s
#   W3   N due messages (N / PROJECTS per project) stored with the dispatcher stopped, then
#        `dmq server` drains them to the sink; deliveries/s, every id once, queues empty
# and, for each, the CPU (utime + stime from /proc/<pid>/stat, before/after) of every
# redis-server and of dmq, divided by the messages each master handled (the members of its
# projects' queues after W2; the deliveries of its projects in W3): Redis CPU per message
# per master. With SHARDS=K the projects spread over K hash tags each (product_list[].shards,
# docs/scaling.md): the messages per master are then counted from every queue key on it,
# and each record carries the spread of messages, Redis memory (used_memory after the W3
# preload less before) and Redis CPU over the masters (max / min). Prints a markdown table
# (median (min-max) over the rounds), writes bench/results/cluster-<timestamp>.json.
#
# Knobs (environment): RUNS=3, REDIS="single cluster" (targets, in this order in odd
# rounds), MASTERS=3, PROJECTS=MASTERS (1: all the load on one master), SHARDS=1 (per
# project), DURATION=10 (s of W2),
# WARMUP=2 (s of W2 per target first), CONNECTIONS=64, THREADS=1, BATCH=100, N=60000,
# PRELOAD_BATCH=1000, PRELOAD_THREADS=2, DRAIN_MAX=120, CONCURRENCY=64,
# CONSUMER_TIMEOUT=2000, RATE_PER_SEC=1000000, QUIET_MAX=60, QUIET_CORES=0.3, DMQ_BIN,
# KEEP_TMP. The last line of stdout is `RESULT <json path>`.
set -euo pipefail
BENCH_NAME=cluster
RUNS=${RUNS:-3}
TARGETS=${REDIS:-single cluster}
MASTERS=${MASTERS:-3}
PROJECTS=${PROJECTS:-$MASTERS}
SHARDS=${SHARDS:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
BATCH=${BATCH:-100}
N=${N:-60000}
PRELOAD_BATCH=${PRELOAD_BATCH:-1000}
PRELOAD_THREADS=${PRELOAD_THREADS:-2}
DRAIN_MAX=${DRAIN_MAX:-120}
CONCURRENCY=${CONCURRENCY:-64}
CONSUMER_TIMEOUT=${CONSUMER_TIMEOUT:-2000}
RATE_PER_SEC=${RATE_PER_SEC:-1000000}
# shellcheck source=bench/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/common.sh"
# shellcheck source=bench/lib/cluster.sh
source "$HERE/lib/cluster.sh"
export DMQ_WRK_DIR="$HERE/wrk" DMQ_BATCH="$BATCH"
CLEANUP_LOGS=("$TMP/client-*.log" "$TMP/server-*.log")

need wrk redis-server redis-cli nginx curl python3
for t in $TARGETS; do [[ $t == single || $t == cluster ]] || die "REDIS: single and/or cluster, not $t"; done
((PROJECTS >= 1 && PROJECTS <= MASTERS)) || die "PROJECTS must be 1..MASTERS ($MASTERS)"
((N % PROJECTS == 0)) || die "N ($N) must be a multiple of PROJECTS ($PROJECTS)"

# ---------------------------------------------------------------- the Redis targets
# NODES[t]: "name=port=pid ..." of its redis-servers; NODE_OF[t:project]: the port serving it
declare -A NODES NODE_OF REDIS_YAML
PROJ=()
if [[ " $TARGETS " == *" cluster "* ]]; then
  start_redis_cluster "$MASTERS"
  read -ra PROJ <<<"$(cluster_pick_projects "$PROJECTS" p)"
  NODES[cluster]=
  for i in "${!CLUSTER_PORTS[@]}"; do NODES[cluster]+="m$((i + 1))=${CLUSTER_PORTS[$i]}=${CLUSTER_PIDS[$i]} "; done
  for p in "${PROJ[@]}"; do NODE_OF[cluster:$p]=$(cluster_master_of "dmq:{$p}:x"); done
  REDIS_YAML[cluster]="  cluster: $CLUSTER_SEEDS"
else
  for ((i = 0; i < PROJECTS; i++)); do PROJ+=("p$i"); done
fi
if [[ " $TARGETS " == *" single "* ]]; then
  start_redis
  NODES[single]="r=$REDIS_PORT=$REDIS_PID"
  for p in "${PROJ[@]}"; do NODE_OF[single:$p]=$REDIS_PORT; done
  REDIS_YAML[single]="  host: 127.0.0.1
  port: $REDIS_PORT"
fi
flush_target() { if [[ $1 == cluster ]]; then cluster_flush; else flush; fi; }
# queued TARGET PROJECT: members of the project's queue
queued() { redis-cli -p "${NODE_OF[$1:$2]}" zcard "dmq:{$2}:q:c_$2"; }
# port_queued PORT: members of every queue on that redis-server (any project, any shard)
port_queued() {
  local k n=0
  while read -r k; do
    [[ -n $k ]] && n=$((n + $(redis-cli -p "$1" zcard "$k")))
  done < <(redis-cli -p "$1" --scan --pattern 'dmq:{*}:q:*')
  echo "$n"
}
# port_memory PORT: its used_memory
port_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }
layout=""
for p in "${PROJ[@]}"; do
  layout+="$p"
  [[ -n ${NODE_OF[cluster:$p]:-} ]] && layout+=" (slot $(redis-cli -p "${CLUSTER_PORTS[0]}" cluster keyslot "dmq:{$p}:x") on :${NODE_OF[cluster:$p]})"
  layout+=", "
done
layout=${layout%, }

start_nginx sink
sink_reset() { : >"$SINK_LOG"; }
sink_lines() { wc -l <"$SINK_LOG"; }

# ---------------------------------------------------------------- dmq, one client per target
dmq_copy
declare -A CLIENT_PID URL
for t in $TARGETS; do
  cfg="$TMP/config-$t"
  mkdir -p "$cfg/commands"
  port=$(free_port)
  {
    echo "http_port: $port"
    echo "http:"
    echo "  listen: 127.0.0.1"
    echo "product_list:"
    for p in "${PROJ[@]}"; do
      printf '  - project: %s\n    allow_ip: [127.0.0.1]\n' "$p"
      ((SHARDS > 1)) && printf '    shards: %s\n' "$SHARDS"
    done
    echo "msg_save_days: 1"
    echo "redis:"
    echo "${REDIS_YAML[$t]}"
    echo "  read_timeout: 5"
    echo "  write_timeout: 5"
    echo "command_list:"
    for p in "${PROJ[@]}"; do echo "  - cmd-$p.yaml"; done
    echo "limits:"
    echo "  max_batch_items: 1000"
    echo "log:"
    echo "  level: warn"
  } >"$cfg/config.yaml"
  for p in "${PROJ[@]}"; do
    cat >"$cfg/commands/cmd-$p.yaml" <<EOF
project: $p
command: $p:one:consumer
consumer_list:
  - name: c_$p
    host: 127.0.0.1:$NGINX_PORT
    path: /sink/c1
    timeout: $CONSUMER_TIMEOUT
    retry_times: 3
    interval: 1000
    concurrency: $CONCURRENCY
    rate_per_sec: $RATE_PER_SEC
EOF
  done
  "$TMP/dmq" client "$cfg" >"$TMP/client-$t.log" 2>&1 &
  CLIENT_PID[$t]=$!
  PIDS+=("$!")
  URL[$t]="http://127.0.0.1:$port"
  wait_for 20 curl -fsS -m 1 "${URL[$t]}/healthz" || die "dmq client ($t) did not become healthy (see $TMP/client-$t.log)"
done

# ticks_snap OUT NAME=PID...: "NAME utime+stime" per process (clock ticks), "_wall S",
# "_machine BUSY TOTAL" (/proc/stat) - no python3 start inside a measurement
ticks_snap() {
  local out=$1 s t u n sy idle io irq sirq st
  shift
  {
    t=$EPOCHREALTIME
    echo "_wall ${t/,/.}"
    read -r _ u n sy idle io irq sirq st _ </proc/stat
    echo "_machine $((u + n + sy + irq + sirq + st)) $((u + n + sy + idle + io + irq + sirq + st))"
    for s in "$@"; do
      t=$(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/${s#*=}/stat" 2>/dev/null || true)
      echo "${s%%=*} ${t:-}"
    done
  } >"$out"
}
# node_specs TARGET: NAME=PID of each of its redis-servers
node_specs() { local e; for e in ${NODES[$1]}; do echo "${e%%=*}=${e##*=}"; done; }
# node_msgs TARGET: "NAME=messages" per redis-server, from its projects' queues (one consumer)
node_msgs() {
  local e port p m
  for e in ${NODES[$1]}; do
    port=${e#*=}; port=${port%=*}
    echo "${e%%=*}=$(port_queued "$port")"
  done
}
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
# record CASE TARGET RUN KIND FIGURES_JSON BEFORE AFTER MSGS_SPEC QUIET LOGFILE LOGS0: appends a record
record() {
  local lc
  read -ra lc <<<"$(counts "${10}")"
  python3 - "$@" "${lc[0]}" "${lc[1]}" >>"$RECORDS" <<'PY'
import json, os, sys
case, target, run, kind, figs, before, after, msgs, quiet, logf, logs0, lerr, lwarn = sys.argv[1:]
HZ = os.sysconf("SC_CLK_TCK")
def rd(f):
    out = {}
    for l in open(f):
        k, *v = l.split()
        out[k] = [float(x) for x in v]
    return out
a, b = rd(before), rd(after)
wall = b["_wall"][0] - a["_wall"][0]
busy = (b["_machine"][0] - a["_machine"][0]) / max(b["_machine"][1] - a["_machine"][1], 1) * (os.cpu_count() or 1)
cpu_s = {k: (b[k][0] - a[k][0]) / HZ for k in a if not k.startswith("_") and a[k] and b.get(k)}
f = json.loads(figs)
per = {m.split("=")[0]: int(m.split("=")[1]) for m in msgs.split()}
nodes = {}
for n, m in per.items():
    c = cpu_s.get(n)
    nodes[n] = {"msgs": m, "cpu_s": c, "cpu_pct": None if c is None else round(100 * c / wall, 1),
                "usec_per_msg": None if not m or c is None else round(c * 1e6 / m, 2)}
tot_m = sum(per.values())
redis_cpu = sum(v["cpu_s"] or 0 for v in nodes.values())
l0 = [int(x) for x in logs0.split()]
used = [v for v in nodes.values() if v["msgs"]]
spread = lambda xs: round(max(xs) / min(xs), 3) if xs and min(xs) > 0 else None
r = {"case": case, "target": target, "run": int(run), "kind": kind, **f,
     "window_s": round(wall, 3), "machine_busy_cores": round(busy, 2),
     "nodes": nodes, "msgs_counted": tot_m,
     "redis_usec_per_msg_all": round(redis_cpu * 1e6 / tot_m, 2) if tot_m else None,
     "redis_usec_per_msg_master_max": max((v["usec_per_msg"] for v in used if v["usec_per_msg"] is not None), default=None),
     "redis_usec_per_msg_master_min": min((v["usec_per_msg"] for v in used if v["usec_per_msg"] is not None), default=None),
     "redis_cpu_pct_busiest": max((v["cpu_pct"] or 0 for v in nodes.values()), default=None),
     "dmq_cpu_s": cpu_s.get("dmq"), "settle": json.loads(quiet),
     "dmq_log_errors": int(lerr) - l0[0], "dmq_log_warnings": int(lwarn) - l0[1]}
if r["dmq_cpu_s"] is not None and tot_m:
    r["dmq_usec_per_msg"] = round(r["dmq_cpu_s"] * 1e6 / tot_m, 2)
r["spread_msgs"] = spread([v["msgs"] for v in nodes.values()])
r["spread_cpu"] = spread([v["cpu_s"] for v in nodes.values() if v["cpu_s"] is not None])
if f.get("node_memory"):
    r["spread_memory"] = spread(list(f["node_memory"].values()))
r["ok"] = bool(f.get("ok", True))
print(json.dumps(r))
PY
}
logline() {
  python3 - "$1" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).readlines()[-1])
fig = r.get("msgs_per_s") or r.get("deliveries_per_s") or 0
nodes = ", ".join(f"{n} {v['msgs']:,} msg {v['usec_per_msg']} us/msg {v['cpu_pct']}%" for n, v in r["nodes"].items())
print(f"{fig:,.0f}/s; Redis {nodes}; all {r['redis_usec_per_msg_all']} us/msg; dmq {r.get('dmq_usec_per_msg')} us/msg; "
      f"machine {r['machine_busy_cores']} cores; dmq log errors {r['dmq_log_errors']}, warnings {r['dmq_log_warnings']}"
      + ("" if r["ok"] else f"; FAILED: {r.get('why', '')}"))
PY
}
# counts FILE: "errors warnings" lines in a dmq log, but for the warning at start that Redis
# runs without an append-only file (these Redis are private and without persistence)
counts() {
  echo "$(grep -c ' error ' "$1" 2>/dev/null || true) $(grep ' warning ' "$1" 2>/dev/null | grep -vc 'appendonly is no' || true)"
}

# ---------------------------------------------------------------- W2
# stored_total TARGET: messages in the projects' queues
stored_total() {
  local e port s=0
  for e in ${NODES[$1]}; do port=${e#*=}; port=${port%=*}; s=$((s + $(port_queued "$port"))); done
  echo "$s"
}
# settled TARGET: no save still landing (the queues did not grow in 0.3 s)
settled() { local a; a=$(stored_total "$1"); sleep 0.3; (($(stored_total "$1") == a)); }

w2_run() {
  local t=$1 run=$2 out="$TMP/w2-$1-$2" quiet tpid wpid logs0 specs figs
  flush_target "$t"
  quiet=$(settle)
  logs0=$(counts "$TMP/client-$t.log")
  mapfile -t specs < <(node_specs "$t")
  ticks_snap "$out.before" dmq="${CLIENT_PID[$t]}" "${specs[@]}"
  DMQ_PROJECTS="${PROJ[*]}" timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
    --timeout 5s -s "$HERE/wrk/batch.lua" "${URL[$t]}" >"$out.wrk" 2>&1 &
  tpid=$!
  wpid=$(child_of "$tpid" wrk)
  "${CPUSAMPLE[@]}" sample "$out.cpu" "${wpid:-0}" dmq="${CLIENT_PID[$t]}" >/dev/null
  wait "$tpid" || die "wrk failed against $t: $(cat "$out.wrk")"
  wait_for 10 settled "$t" || log "WARNING: the $t queues were still growing 10 s after wrk stopped"
  ticks_snap "$out.after" dmq="${CLIENT_PID[$t]}" "${specs[@]}"
  figs=$(python3 - "$out.wrk" "$out.cpu" "$(stored_total "$t")" "$BATCH" <<'PY'
import json, sys
wrkf, cpuf, stored, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
line = [l for l in open(wrkf) if l.startswith("WRKJSON ")]
if not line:
    sys.exit("no WRKJSON line in wrk output:\n" + open(wrkf).read())
w = json.loads(line[-1][8:])
bad = w["bad_status"] + w["bad_code"] + w["bad_ids"] + sum(w["socket_errors"].values())
accepted = max(w["requests"] - w["bad_status"] - w["bad_code"] - sum(w["socket_errors"].values()), 0) * per
cpu = json.load(open(cpuf))
ok = bad == 0 and stored >= accepted
print(json.dumps({"msgs_per_s": round(w["rps"] * per, 1), "requests": w["requests"],
                  "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "bad_answers": bad, "first_bad": w["first_bad"],
                  "accepted_msgs": accepted, "stored_msgs": stored, "load_cpu_pct": cpu.get("load"),
                  "other_cores": cpu.get("other_cores"), "ok": ok,
                  "why": "" if ok else f"{bad} bad answers, {stored} stored of {accepted} accepted"}))
PY
  ) || die "W2 against $t: no figures"
  record "W2_$t" "$t" "$run" w2 "$figs" "$out.before" "$out.after" "$(node_msgs "$t" | tr '\n' ' ')" \
    "$quiet" "$TMP/client-$t.log" "$logs0"
  log "W2 $t run $run: $(logline "$RECORDS")"
}

# ---------------------------------------------------------------- W3
w3_run() {
  local t=$1 run=$2 out="$TMP/w3-$1-$2" quiet p q=0 t0 wpid wrc=0 specs figs per=$((N / PROJECTS)) msgs="" e port m
  flush_target "$t"
  sink_reset
  : >"$out.ids"
  local mem0=() mem="" i=0
  for e in ${NODES[$t]}; do port=${e#*=}; port=${port%=*}; mem0+=("$(port_memory "$port")"); done
  for p in "${PROJ[@]}"; do
    "${POST[@]}" preload "${URL[$t]}" "$p" "$p:one:consumer" "$per" "$PRELOAD_BATCH" "$PRELOAD_THREADS" 0 "$out.ids.$p" \
      >/dev/null || die "preload of $p ($t) failed"
    cat "$out.ids.$p" >>"$out.ids"
  done
  q=$(stored_total "$t")
  ((q == N)) || die "after the preload the $t queues hold $q deliveries, not $N"
  # where the messages are: per master, its queues' members and the memory they took
  msgs=$(node_msgs "$t" | tr '\n' ' ')
  for e in ${NODES[$t]}; do
    port=${e#*=}; port=${port%=*}
    mem+="${e%%=*}=$(($(port_memory "$port") - ${mem0[$i]})) "
    i=$((i + 1))
  done
  (($(sink_lines) == 0)) || die "the sink got requests before the dispatcher started"
  quiet=$(settle)
  mapfile -t specs < <(node_specs "$t")
  ticks_snap "$out.before" "${specs[@]}"
  t0=$(date +%s.%N)
  "$TMP/dmq" server "$TMP/config-$t" >"$TMP/server-$t-$run.log" 2>&1 &
  SERVER_PID=$!
  (until (($(sink_lines) >= N)); do
    (($(date +%s) - ${t0%.*} < DRAIN_MAX)) || exit 1
    kill -0 "$SERVER_PID" 2>/dev/null || exit 2
    sleep 0.1
  done) &
  wpid=$!
  wait "$wpid" || wrc=$?
  ticks_snap "$out.after" "${specs[@]}" dmq="$SERVER_PID"
  echo "dmq 0" >>"$out.before" # the server's CPU: all of its life up to the last delivery
  ((wrc != 2)) || die "dmq server ($t) died during the drain (see $TMP/server-$t-$run.log)"
  ((wrc == 0)) || log "WARNING: $t run $run: only $(sink_lines) of $N deliveries after ${DRAIN_MAX}s"
  sleep 1.5 # late duplicates or retries would show up here
  q=$(stored_total "$t")
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  python3 "$HERE/lib/sinklog.py" summary "$SINK_LOG" "$out.ids" c1 "$t0" >"$out.sum"
  figs=$(python3 - "$out.sum" "$q" <<'PY'
import json, sys
s, q = json.load(open(sys.argv[1])), int(sys.argv[2])
c = s["consumers"]["c1"]
ok = s["ok"] and q == 0
print(json.dumps({"deliveries_per_s": s.get("deliveries_per_s"), "span_s": s.get("span_s"),
                  "start_to_last_s": s.get("from_server_start_to_last_s"), "deliveries": s["deliveries"],
                  "missing": c["missing"], "duplicates": c["duplicates"], "retries": c["retries"],
                  "queued_after": q, "ok": ok,
                  "why": "" if ok else f"missing {c['missing']}, duplicates {c['duplicates']}, unexpected {c['unexpected']}, queued after {q}"}))
PY
  )
  figs=$(python3 - "$figs" "$mem" <<'PY'
import json, sys
f = json.loads(sys.argv[1])
f["node_memory"] = {m.split("=")[0]: int(m.split("=")[1]) for m in sys.argv[2].split()}
print(json.dumps(f))
PY
  )
  record "W3_$t" "$t" "$run" w3 "$figs" "$out.before" "$out.after" "$msgs" "$quiet" "$TMP/server-$t-$run.log" "0 0"
  log "W3 $t run $run: $(logline "$RECORDS")"
}

log "targets: $TARGETS; masters $MASTERS (no replicas); projects: $layout; W2 wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; W3 N=$N; runs $RUNS"
for t in $TARGETS; do
  DMQ_PROJECTS="${PROJ[*]}" timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
    -s "$HERE/wrk/batch.lua" "${URL[$t]}" >"$TMP/warmup-$t.wrk" 2>&1 || true
done
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
read -ra order <<<"$TARGETS"
for run in $(seq "$RUNS"); do
  if ((run % 2 == 0)); then mapfile -t ts < <(printf '%s\n' "${order[@]}" | tac); else ts=("${order[@]}"); fi
  for t in "${ts[@]}"; do w2_run "$t" "$run"; done
  for t in "${ts[@]}"; do w3_run "$t" "$run"; done
done
for t in $TARGETS; do kill -0 "${CLIENT_PID[$t]}" 2>/dev/null || die "dmq client ($t) exited during the benchmark"; done

# ---------------------------------------------------------------- report
LAYOUT="$layout" python3 - "$RECORDS" <<PY
import json, os, sys
sys.path.insert(0, "$HERE/lib")
import result
from result import agg
recs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in recs: by.setdefault(r["case"], []).append(r)
summary = {}
for k, rs in by.items():
    figs = {"rate": (lambda r: r.get("msgs_per_s") or r.get("deliveries_per_s")),
            "redis_usec_per_msg_all": "redis_usec_per_msg_all",
            "redis_usec_per_msg_master_max": "redis_usec_per_msg_master_max",
            "redis_usec_per_msg_master_min": "redis_usec_per_msg_master_min",
            "redis_cpu_pct_busiest": "redis_cpu_pct_busiest",
            "dmq_usec_per_msg": "dmq_usec_per_msg", "machine_busy_cores": "machine_busy_cores",
            "spread_msgs": "spread_msgs", "spread_cpu": "spread_cpu", "spread_memory": "spread_memory"}
    for n in rs[0]["nodes"]:
        figs[f"{n}_usec_per_msg"] = (lambda r, n=n: r["nodes"][n]["usec_per_msg"])
        figs[f"{n}_cpu_pct"] = (lambda r, n=n: r["nodes"][n]["cpu_pct"])
        figs[f"{n}_msgs"] = (lambda r, n=n: r["nodes"][n]["msgs"])
    summary[k] = {**result.by_case(rs, figs)[k], "all_ok": all(r["ok"] for r in rs),
                  "dmq_log_errors": sum(r["dmq_log_errors"] for r in rs),
                  "dmq_log_warnings": sum(r["dmq_log_warnings"] for r in rs)}
med = lambda k, f="rate": (summary.get(k, {}).get(f) or {}).get("median")
ratios = {}
for w in ("W2", "W3"):
    if med(f"{w}_cluster") and med(f"{w}_single"):
        ratios[f"{w}_cluster_over_single"] = med(f"{w}_cluster") / med(f"{w}_single")
params = {"runs": $RUNS, "targets": "$TARGETS", "masters": $MASTERS, "replicas": 0, "projects": $PROJECTS,
          "shards": $SHARDS,
          "project_layout": os.environ["LAYOUT"], "duration_s": $DURATION, "connections": $CONNECTIONS,
          "wrk_threads": $THREADS, "batch": $BATCH, "n": $N, "concurrency": $CONCURRENCY,
          "rate_per_sec": $RATE_PER_SEC}
out = result.write("cluster", recs, summary, params,
                   title=f"Redis Cluster ({$MASTERS} masters, no replicas) against one Redis: W2 ingest, W3 drain",
                   headline=[(f"{c.replace('_', ' ')} /s", [c, "rate"]) for c in sorted(summary)],
                   started="$START", extra={"ratios": ratios, "dmq_sha256": "$DMQ_SHA",
                   "note": "every redis-server, dmq, nginx and wrk share this machine"})
doc = json.load(open(out))
f = lambda a, d=0: "-" if not a else (f"{a['median']:,.{d}f} ({a['min']:,.{d}f}–{a['max']:,.{d}f})")
print()
print(f"Redis Cluster against one Redis, {doc['started_utc']}, {$RUNS} runs; projects: {os.environ['LAYOUT']}; "
      "median (min–max) over runs")
print()
print("| case | messages or deliveries/s | Redis CPU µs per message, per master (its messages) | Redis µs/msg, all masters | busiest redis-server, % of a core | dmq µs/msg | machine busy, cores | lost/dup (W3), bad answers (W2) |")
print("|---|---|---|---|---|---|---|---|")
for k in sorted(summary, key=lambda c: (c[:2], c[3:] != "single")):
    s, rs = summary[k], by[k]
    nodes = "; ".join(f"{n} {f(s[f'{n}_usec_per_msg'], 1)} ({s[f'{n}_msgs']['median']:,.0f})"
                      for n in rs[0]["nodes"])
    bad = (f"{sum(r.get('missing', 0) for r in rs)}/{sum(r.get('duplicates', 0) for r in rs)}" if k.startswith("W3")
           else str(sum(r.get("bad_answers", 0) for r in rs)))
    print(f"| {k.replace('_', ' ')} | {f(s['rate'])} | {nodes} | {f(s['redis_usec_per_msg_all'], 1)} | "
          f"{f(s['redis_cpu_pct_busiest'])} | {f(s['dmq_usec_per_msg'], 1)} | {f(s['machine_busy_cores'], 2)} | {bad} |")
print()
for k, v in ratios.items(): print(f"{k}: {v:.2f}")
for k in sorted(summary):
    s = summary[k]
    if k.endswith("cluster"):
        print(f"{k} spread over the masters (max/min): messages {f(s.get('spread_msgs'), 2)}, "
              f"Redis CPU {f(s.get('spread_cpu'), 2)}" +
              (f", memory {f(s.get('spread_memory'), 2)}" if s.get("spread_memory") else ""))
print(f"Failed runs: {', '.join(doc['failed_runs']) or 'none'}; dmq log errors/warnings: " +
      ", ".join(f"{k} {summary[k]['dmq_log_errors']}/{summary[k]['dmq_log_warnings']}" for k in sorted(summary)))
if doc["busy_runs"]: print(f"Measured while the machine was busy with other work: {', '.join(doc['busy_runs'])}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
