#!/usr/bin/env bash
# Single POSTs against nginx `return 200` (issue 15, "Single POSTs"). See bench/README.md.
#
# Starts a private redis-server, two `dmq client`s on it (`workers: 1`, and `workers: 2`
# with `http.reuse_port: true`: two processes on one port) and two nginx `return 200`
# (`worker_processes 1`, as bench/scenarios/ingest.sh, and 2, both `listen ... reuseport`),
# all on free loopback ports. Then RUNS rounds of one measurement per case, in the order
# A B C D, then D C B A, ... so that the machine's drift (other work coming and going)
# falls evenly on every case:
#   nginx_w1   wrk against nginx, 1 worker
#   dmq_w1     wrk POST /api/message/single (bench/wrk/single.lua, svs:notice:user, one
#              message a request, its own bucket, ~100 bytes of params) against dmq, 1 process
#   dmq_w2     the same against dmq `workers: 2`
#   nginx_w2   wrk against nginx, 2 workers
# Every case runs on the same wrk settings; nginx gets the very same POST requests
# (NGINX_REQ=post, the default: wrk/single.lua's bodies, status checked only) or ingest.sh's
# GET without body (NGINX_REQ=get, wrk/empty.lua). Every dmq answer must be 2xx with
# "code":0 (wrk/common.lua counts the others) and Redis must hold at least the messages wrk
# saw accepted: a measurement with any bad answer or socket error fails (its record is not
# ok, the ratios of its round that use it are left out, and bench/run exits 1). Reports per
# round dmq ÷ nginx (requests/s measured seconds apart, in the same round) and the median
# of those ratios; prints a markdown table and writes bench/results/posts-<timestamp>.json
# (dmq-bench/1).
#
# Knobs (environment): RUNS=5, DURATION=5 (s per measurement), CONNECTIONS=64 and THREADS=1
# (wrk), WARMUP=2 (s per case), NGINX_REQ=post|get, CASES="nginx_w1 dmq_w1 dmq_w2 nginx_w2"
# (the order of the odd rounds), QUIET_MAX=2 and QUIET_CORES=0.3 (a short wait for a quiet
# machine before each measurement: the interleaving, not the wait, is what spreads noise
# evenly), DMQ_BIN=build/dmq, KEEP_TMP=0.
set -euo pipefail

BENCH_NAME=posts
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
NGINX_REQ=${NGINX_REQ:-post}
CASES=${CASES:-nginx_w1 dmq_w1 dmq_w2 nginx_w2}
QUIET_MAX=${QUIET_MAX:-2}
# shellcheck source=bench/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/common.sh"
export DMQ_WRK_DIR="$HERE/wrk" DMQ_PROJECT=svs DMQ_CMD=svs:notice:user
CLEANUP_LOGS=("$TMP/dmq-*.log")

need wrk redis-server redis-cli nginx curl python3 ss
(( DURATION >= 2 )) || die "DURATION must be at least 2 s"
[[ $NGINX_REQ == post || $NGINX_REQ == get ]] || die "NGINX_REQ must be post or get"
read -r -a ORDER <<<"$CASES"
for c in "${ORDER[@]}"; do
  [[ $c =~ ^(nginx|dmq)_w[12]$ ]] || die "unknown case $c (nginx_w1 nginx_w2 dmq_w1 dmq_w2)"
done

# nginx's POST load: wrk/single.lua's requests, only the status checked (nginx answers 200
# without a body, and discards the request's)
cat >"$TMP/nginx-post.lua" <<'LUA'
dofile((os.getenv("DMQ_WRK_DIR") or "bench/wrk") .. "/single.lua")
check_code = false
LUA
declare -A URL SCRIPT SRV_PIDS LOGF

# children PID: the pids of PID's children
children() { cat /proc/"$1"/task/*/children 2>/dev/null | xargs; }

# ---------------------------------------------------------------- redis
start_redis
# stored_msgs: messages in Redis: one expiring record each (docs/storage.md); the only
# other expiring keys are dmq's id-node leases (dmq:node:<n>)
stored_msgs() {
  local e leases
  e=$("${RCLI[@]}" info keyspace | sed -n 's/.*expires=\([0-9]*\).*/\1/p')
  leases=$("${RCLI[@]}" --scan --pattern 'dmq:node:*' | grep -vc ':clock$' || true)
  echo $(( ${e:-0} - ${leases:-0} ))
}

# ---------------------------------------------------------------- nginx
# nginx_start N: nginx `return 200` with N workers (case nginx_wN), as common.sh's
# start_nginx return200 but for the workers and `reuseport` (each worker its own socket, as
# dmq's workers)
nginx_start() {
  local n=$1 dir="$TMP/nginx-$1" port pid
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<NGINX
worker_processes $n;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path $dir/body;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:$port reuseport;
    location / { return 200; }
  }
}
NGINX
  nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
  pid=$!
  PIDS+=("$pid")
  URL[nginx_w$n]="http://127.0.0.1:$port"
  wait_for 10 curl -fsS -m 1 -o /dev/null "${URL[nginx_w$n]}/" || die "nginx ($n workers) did not start (see $dir/error.log)"
  wait_for 10 test "$(children "$pid" | wc -w)" -eq "$n" || die "nginx did not start $n workers"
  SRV_PIDS[nginx_w$n]=$(children "$pid")
  if [[ $NGINX_REQ == post ]]; then SCRIPT[nginx_w$n]="$TMP/nginx-post.lua"; else SCRIPT[nginx_w$n]="$HERE/wrk/empty.lua"; fi
}
nginx_start 1
nginx_start 2

# ---------------------------------------------------------------- dmq clients
dmq_copy
# dmq_start N: `dmq client` with `workers: N` and http.reuse_port (case dmq_wN)
dmq_start() {
  local n=$1 cfg="$TMP/dmq-w$1" port pid
  port=$(free_port)
  mkdir -p "$cfg/commands"
  cat >"$cfg/config.yaml" <<YAML
http_port: $port
http:
  listen: 127.0.0.1
  reuse_port: true
workers: $n
product_list:
  - project: svs
    allow_ip: [127.0.0.1]
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
command_list:
  - cmd-svs-notice-user.yaml
log:
  level: warn
YAML
  cat >"$cfg/commands/cmd-svs-notice-user.yaml" <<'YAML'
project: svs
command: svs:notice:user
consumer_list:
  - host: 127.0.0.1:1
    name: wet234
    path: /api/mytest/test/noticeuser
    timeout: 600
    retry_times: 3
    interval: 300
YAML
  LOGF[dmq_w$n]="$TMP/dmq-w$n.log"
  "$TMP/dmq" client "$cfg" >"${LOGF[dmq_w$n]}" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  URL[dmq_w$n]="http://127.0.0.1:$port"
  SCRIPT[dmq_w$n]="$HERE/wrk/single.lua"
  wait_for 20 curl -fsS -m 1 "${URL[dmq_w$n]}/healthz" || die "dmq (workers: $n) did not become healthy"
  if (( n == 1 )); then
    SRV_PIDS[dmq_w1]=$pid
  else  # the parent (idle) and its children, each serving once it listens on the port
    wait_for 20 test "$(ss -Hltn "sport = :$port" | wc -l)" -eq "$n" ||
      die "dmq workers: $n did not open $n listening sockets on :$port (see ${LOGF[dmq_w$n]})"
    SRV_PIDS[dmq_w$n]="$pid $(children "$pid")"
    [[ $(wc -w <<<"${SRV_PIDS[dmq_w$n]}") == $((n + 1)) ]] || die "dmq workers: $n runs ${SRV_PIDS[dmq_w$n]}"
  fi
  local ans one='{"project":"svs","cmd":"svs:notice:user","params":"{}","bucket":"smoke","delay_ms":60000}'
  ans=$(curl -sS -m 5 -H 'Content-Type: application/json' -d "$one" "${URL[dmq_w$n]}/api/message/single")
  [[ $ans =~ \"code\":0[,}] ]] || die "single smoke request (workers: $n) answered: $ans"
}
dmq_start 1
dmq_start 2

# ---------------------------------------------------------------- measurement
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"

# run_case CASE RUN: one wrk measurement of CASE, appended to $RECORDS
run_case() {
  local c=$1 run=$2 out="$TMP/$1-$2" tpid wpid stored=null quiet i specs=() logs0=(0 0) logs1=(0 0)
  flush
  quiet=$(settle)
  [[ $c == dmq_* ]] && read -r -a logs0 < <(log_counts "${LOGF[$c]}")
  timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
    -s "${SCRIPT[$c]}" "${URL[$c]}" >"$out.wrk" 2>&1 &
  tpid=$!
  wpid=$(child_of "$tpid" wrk)
  [[ -n $wpid ]] || log "WARNING: wrk's pid not found; no CPU figures for $c run $run"
  i=0
  for p in ${SRV_PIDS[$c]}; do specs+=("srv$((i++))=$p"); done
  "${CPUSAMPLE[@]}" sample "$out.cpu" "${wpid:-0}" "${specs[@]}" redis="$REDIS_PID"
  wait "$tpid" || die "wrk failed for $c: $(cat "$out.wrk")"
  if [[ $c == dmq_* ]]; then
    stored=$(stored_msgs)
    read -r -a logs1 < <(log_counts "${LOGF[$c]}")
  fi
  python3 - "$c" "$run" "$stored" "$out.wrk" "$out.cpu" "$quiet" \
    $((logs1[0] - logs0[0])) $((logs1[1] - logs0[1])) >>"$RECORDS" <<'PY'
import json, sys
c, run, stored, wrkf, cpuf, quiet, lerr, lwarn = sys.argv[1:]
line = [l for l in open(wrkf) if l.startswith("WRKJSON ")]
if not line:
    sys.exit("no WRKJSON line in wrk output:\n" + open(wrkf).read())
w = json.loads(line[-1][8:])
try:
    cpu = json.load(open(cpuf))
except (OSError, ValueError):
    cpu = {}
srv = [v for k, v in cpu.items() if k.startswith("srv") and v is not None]
bad = w["bad_status"] + w["bad_code"] + w["bad_ids"] + sum(w["socket_errors"].values())
accepted = w["requests"] - bad
rec = {"case": c, "run": int(run), "rps": w["rps"], "requests": w["requests"],
       "duration_s": w["duration_s"], "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"],
       "max_ms": w["max_ms"], "socket_errors": w["socket_errors"], "non_2xx": w["bad_status"],
       "bad_code": w["bad_code"], "bad": bad, "first_bad": w["first_bad"],
       "accepted": max(accepted, 0), "stored_msgs": None if stored == "null" else int(stored),
       "dmq_log_errors": int(lerr), "dmq_log_warnings": int(lwarn),
       "cpu_pct": {"server": round(sum(srv), 1) if srv else None,
                   "server_procs": [cpu[k] for k in sorted(cpu) if k.startswith("srv")],
                   "redis": cpu.get("redis"), "wrk": cpu.get("load"),
                   "machine_busy_cores": cpu.get("machine_busy_cores"),
                   "other_cores": cpu.get("other_cores")},
       "settle": json.loads(quiet)}
busy = cpu.get("machine_busy_cores")
rec["machine_cpu_us_per_req"] = round(busy * 1e6 / w["rps"], 1) if busy and w["rps"] else None
# CPU per request of each of our processes (µs): where a request's cost goes
us = lambda pct: None if pct is None or not w["rps"] else round(pct * 1e4 / w["rps"], 2)
rec["cpu_us_per_req"] = {"server": us(rec["cpu_pct"]["server"]), "redis": us(cpu.get("redis")),
                         "wrk": us(cpu.get("load"))}
lost = rec["stored_msgs"] is not None and rec["stored_msgs"] < rec["accepted"]
rec["stored_fewer_than_accepted"] = lost
rec["ok"] = bad == 0 and not lost and w["requests"] > 0
print(json.dumps(rec))
cp = rec["cpu_pct"]
with open(wrkf[:-4] + ".line", "w") as f:
    f.write(f"{rec['rps']:,.0f} req/s, p50 {rec['p50_ms']:.2f} ms, p99 {rec['p99_ms']:.2f} ms, bad {bad}, "
            f"stored {stored}; CPU % server {cp['server']} redis {cp['redis']} wrk {cp['wrk']}, "
            f"machine {cp['machine_busy_cores']} cores")
PY
  log "$c run $run: $(cat "$out.line")"
}

log "redis :$REDIS_PORT  ${ORDER[*]}: $(for c in "${ORDER[@]}"; do printf '%s ' "${URL[$c]##*:}"; done) wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, nginx $NGINX_REQ, runs $RUNS"
for c in "${ORDER[@]}"; do
  timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "${SCRIPT[$c]}" \
    "${URL[$c]}" >"$TMP/warmup-$c.wrk" 2>&1 || true
done
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  if (( run % 2 )); then seq_=("${ORDER[@]}"); else seq_=(); for ((k = ${#ORDER[@]} - 1; k >= 0; k--)); do seq_+=("${ORDER[k]}"); done; fi
  for c in "${seq_[@]}"; do run_case "$c" "$run"; done
done
flush
for c in dmq_w1 dmq_w2; do
  for p in ${SRV_PIDS[$c]}; do kill -0 "$p" 2>/dev/null || die "a process of $c (pid $p) exited during the benchmark"; done
done

# ---------------------------------------------------------------- report
python3 - "$RECORDS" "$START" "$RUNS" "$DURATION" "$THREADS" "$CONNECTIONS" "$NGINX_REQ" "${ORDER[*]}" \
  "$DMQ_SHA" "$HERE/lib" <<'PY'
import json, statistics, sys
recf, start, runs, dur, threads, conns, nreq, order, sha, lib = sys.argv[1:]
sys.path.insert(0, lib)
import result
recs = [json.loads(l) for l in open(recf)]
order = order.split()
medians = result.by_case(recs, {
    "rps": "rps", "p50_ms": "p50_ms", "p99_ms": "p99_ms",
    "cpu_server_pct": lambda r: r["cpu_pct"]["server"], "cpu_redis_pct": lambda r: r["cpu_pct"]["redis"],
    "cpu_wrk_pct": lambda r: r["cpu_pct"]["wrk"], "machine_busy_cores": lambda r: r["cpu_pct"]["machine_busy_cores"],
    "other_cores": lambda r: r["cpu_pct"]["other_cores"], "machine_cpu_us_per_req": "machine_cpu_us_per_req",
    "us_server": lambda r: r["cpu_us_per_req"]["server"], "us_redis": lambda r: r["cpu_us_per_req"]["redis"],
    "us_wrk": lambda r: r["cpu_us_per_req"]["wrk"],
    "us_ours": lambda r: sum(r["cpu_us_per_req"][k] or 0 for k in ("server", "redis", "wrk")) or None})
# dmq ÷ nginx per round (both measured in that round); a round with a failed record counts not
PAIRS = [("dmq_w1", "nginx_w1"), ("dmq_w2", "nginx_w1"), ("dmq_w2", "nginx_w2"), ("dmq_w1", "nginx_w2")]
rounds = {}
for r in recs:
    rounds.setdefault(r["run"], {})[r["case"]] = r
per_round, ratio_aggs = {}, {}
for d, n in PAIRS:
    if d not in order or n not in order:
        continue
    key = f"{d}_over_{n}"
    v = []
    for run in sorted(rounds):
        a, b = rounds[run].get(d), rounds[run].get(n)
        ok = a and b and a["ok"] and b["ok"] and b["rps"] > 0
        v.append(a["rps"] / b["rps"] if ok else None)
    per_round[key] = v
    ratio_aggs[key] = result.agg(v) or {"median": None, "min": None, "max": None, "runs": []}
    clean = all(r["ok"] for r in recs if r["case"] in (d, n))  # medians of failed runs mean nothing
    ratio_aggs[key]["of_medians"] = (medians[d]["rps"]["median"] / medians[n]["rps"]["median"]
                                     if clean and medians.get(d) and medians.get(n) else None)
medians["ratios"] = ratio_aggs
bad = {c: sum(r["bad"] for r in recs if r["case"] == c) for c in order}
lost = [f"{r['case']}#{r['run']}" for r in recs if r["stored_fewer_than_accepted"]]
log_errors = {c: sum(r["dmq_log_errors"] for r in recs if r["case"] == c) for c in order if c.startswith("dmq")}
params = {"runs": int(runs), "duration_s": int(dur), "wrk_threads": int(threads), "connections": int(conns),
          "nginx_request": nreq, "order": order, "interleaving": "odd rounds in order, even rounds reversed",
          "dmq_load": "wrk/single.lua, svs:notice:user (1 consumer), 1 message a request"}
head = [(f"{k.replace('_over_', ' ÷ ')}", ["ratios", k]) for k in ("dmq_w1_over_nginx_w1", "dmq_w2_over_nginx_w1",
                                                                    "dmq_w2_over_nginx_w2")
        if k in ratio_aggs and ratio_aggs[k]["median"] is not None]
out = result.write("posts", recs, medians, params, title="single POSTs against nginx return 200 (issue 15)",
                   started=start, headline=head,
                   extra={"ratios_per_round": per_round, "bad_answers": bad, "stored_fewer_than_accepted": lost,
                          "dmq_log_errors": log_errors, "dmq_sha256": sha,
                          "note": "wrk, dmq, redis-server and nginx share this machine"})
doc = json.load(open(out))
f = result.fmt
WHAT = {"nginx_w1": "nginx `return 200`, `worker_processes 1`", "nginx_w2": "nginx `return 200`, `worker_processes 2`",
        "dmq_w1": "dmq client, 1 process", "dmq_w2": "dmq client, `workers: 2` (reuse_port)"}
print(f"\nSingle POSTs against nginx, {start}, {runs} rounds × {dur} s per case, wrk -t{threads} -c{conns}, "
      f"nginx gets {'the same POSTs' if nreq == 'post' else 'GETs without body'}; order {' '.join(order)}, "
      "reversed every other round; median (min–max) over rounds\n")
print("| case | requests/s | p50 ms | p99 ms | CPU, % of a core: server / redis / wrk | others, cores | CPU µs per request: server / redis / wrk = sum | machine CPU µs per request |")
print("|---|---|---|---|---|---|---|---|")
n1 = lambda a: "-" if not a else f"{a['median']:.1f}"
n0 = lambda a: "-" if not a else f"{a['median']:.0f}"
for c in order:
    m = medians[c]
    print(f"| {WHAT[c]} | {f(m['rps'])} | {f(m['p50_ms'], 2)} | {f(m['p99_ms'], 2)} | "
          f"{n0(m['cpu_server_pct'])} / {n0(m['cpu_redis_pct'])} / {n0(m['cpu_wrk_pct'])} | "
          f"{'-' if not m['other_cores'] else format(m['other_cores']['median'], '.2f')} | "
          f"{n1(m['us_server'])} / {n1(m['us_redis'])} / {n1(m['us_wrk'])} = {n1(m['us_ours'])} | {f(m['machine_cpu_us_per_req'], 1)} |")
print("\n| ratio of requests/s | per round | median of the rounds' ratios (min–max) | ratio of the medians |")
print("|---|---|---|---|")
for k, a in ratio_aggs.items():
    pr = ", ".join("-" if x is None else f"{x:.0%}" for x in per_round[k])
    med = "-" if not a["runs"] else f"**{a['median']:.1%}** ({a['min']:.0%}–{a['max']:.0%})"
    print(f"| {k.replace('_over_', ' ÷ ')} | {pr} | {med} | {'-' if a['of_medians'] is None else format(a['of_medians'], '.1%')} |")
print(f"\nBad answers (non-2xx, code != 0, socket errors): " + ", ".join(f"{c} {bad[c]}" for c in order) +
      f"; rounds where Redis held fewer messages than were accepted: {', '.join(lost) or 'none'}; "
      "error lines in dmq's logs: " + ", ".join(f"{c} {v}" for c, v in log_errors.items()))
noisy = [f"{r['case']}#{r['run']}" for r in recs if not r["settle"]["quiet"]]
if noisy: print(f"Started on a busy machine (> the quiet threshold after QUIET_MAX s): {len(noisy)} of {len(recs)}")
print(f"Results: {out}")
print(f"SUMMARY {doc['summary']}")
print(f"RESULT {out}")
PY
