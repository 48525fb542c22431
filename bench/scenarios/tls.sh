#!/usr/bin/env bash
# TLS benchmark of dmq's API (issue 13, section 2). See bench/README.md.
#
# Starts a private redis-server and two `dmq client`s on free loopback ports, the same
# configuration but for http.tls: one plain HTTP, one HTTPS (an EC P-256 certificate the
# script makes with the openssl CLI). Then RUNS rounds; each round measures, in this order,
#   W1 http    wrk POST /api/message/single, 1 message a request (svs:notice:user)
#   W1 https   the same over TLS
#   W2 http    wrk POST /api/message/batch, BATCH messages a request
#   W2 https   the same over TLS
# so that each TLS figure meets the same machine noise as its plain one; Redis is emptied
# (but for dmq's id leases) before each. wrk keeps its CONNECTIONS connections open (one
# handshake each): what is measured is the cost of TLS records per request, as keep-alive
# producers pay it. Prints a markdown table (median (min-max) over the rounds, and the
# ratio https/http of the medians) and writes bench/results/tls-<timestamp>.json; the last
# line of stdout is `RESULT <path>`.
#
# Knobs (environment): RUNS=3, DURATION=10 (s per measurement), CONNECTIONS=64 and
# THREADS=1 (wrk), BATCH=100, WARMUP=2 (s), QUIET_MAX=60 and QUIET_CORES=0.3 (wait before
# each measurement until other processes use < QUIET_CORES cores, at most QUIET_MAX s),
# DMQ_BIN=build/dmq, KEEP_TMP=0 (1: keep the temp dir with logs and raw outputs).
set -euo pipefail

BENCH_NAME=tls
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
BATCH=${BATCH:-100}
WARMUP=${WARMUP:-2}
# shellcheck source=bench/lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/common.sh"
export DMQ_WRK_DIR="$HERE/wrk" DMQ_BATCH="$BATCH" DMQ_PROJECT=svs DMQ_CMD=svs:notice:user
CLEANUP_LOGS=("$TMP/dmq-*.log")

need wrk redis-server redis-cli openssl curl python3
(( DURATION >= 3 )) || die "DURATION must be at least 3 s"

# ---------------------------------------------------------------- redis
start_redis

# ---------------------------------------------------------------- certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=dmq-bench -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>"$TMP/openssl.log" ||
  die "openssl could not make a certificate: $(cat "$TMP/openssl.log")"

# ---------------------------------------------------------------- the two dmq clients
dmq_copy
# config NAME PORT TLS_LINES: a config dir for one dmq client
config() {
  mkdir -p "$TMP/$1/commands"
  cat >"$TMP/$1/config.yaml" <<YAML
http_port: $2
http:
  listen: 127.0.0.1
$3
product_list:
  - project: svs
    allow_ip: [127.0.0.1]
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
command_list:
  - cmd-svs-notice-user.yaml
limits:
  max_batch_items: 1000
log:
  level: warn
YAML
  cat >"$TMP/$1/commands/cmd-svs-notice-user.yaml" <<'YAML'
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
}
PLAIN_PORT=$(free_port)
TLS_PORT=$(free_port)
config plain "$PLAIN_PORT" ""
config tls "$TLS_PORT" "  tls:
    cert_file: $TMP/cert.pem
    key_file: $TMP/key.pem"
"$TMP/dmq" client "$TMP/plain" >"$TMP/dmq-plain.log" 2>&1 &
PLAIN_PID=$!; PIDS+=("$PLAIN_PID")
"$TMP/dmq" client "$TMP/tls" >"$TMP/dmq-tls.log" 2>&1 &
TLS_PID=$!; PIDS+=("$TLS_PID")
declare -A URL=([http]="http://127.0.0.1:$PLAIN_PORT" [https]="https://127.0.0.1:$TLS_PORT")
declare -A PID=([http]=$PLAIN_PID [https]=$TLS_PID)
wait_for 20 curl -fsS -m 1 "${URL[http]}/healthz" || die "plain dmq did not become healthy"
wait_for 20 curl -fsS -m 1 --cacert "$TMP/cert.pem" "${URL[https]}/healthz" ||
  die "tls dmq did not become healthy"
ONE='{"project":"svs","cmd":"svs:notice:user","params":"{}","bucket":"smoke","delay_ms":60000}'
ans=$(curl -sS -m 5 --cacert "$TMP/cert.pem" -d "[$ONE,$ONE]" "${URL[https]}/api/message/batch")
[[ $ans =~ \"code\":0[,}] ]] || die "batch smoke request over https answered: $ans"

# ---------------------------------------------------------------- measurement
RECORDS="$TMP/records.jsonl"
: >"$RECORDS"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a process

# wrk_run W SCHEME RUN SCRIPT PER: one measurement, appended to $RECORDS
wrk_run() {
  local w=$1 scheme=$2 run=$3 script=$4 per=$5 out="$TMP/$1-$2-$3" t0 t1 quiet=true
  flush
  python3 "$HERE/lib/cpusample.py" quiet "$QUIET_MAX" "$QUIET_CORES" >/dev/null ||
    { quiet=false; log "WARNING: machine still busy after ${QUIET_MAX}s; measuring anyway"; }
  t0=$(ticks "${PID[$scheme]}")
  timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
    -s "$HERE/wrk/$script" "${URL[$scheme]}" >"$out.wrk" 2>&1 || die "wrk failed: $(cat "$out.wrk")"
  t1=$(ticks "${PID[$scheme]}")
  python3 - "$w" "$scheme" "$run" "$per" "$out.wrk" $((t1 - t0)) "$(getconf CLK_TCK)" "$quiet" \
    >>"$RECORDS" <<'PY'
import json, sys
w, scheme, run, per, wrkf, dticks, hz, quiet = sys.argv[1:]
line = [l for l in open(wrkf) if l.startswith("WRKJSON ")]
if not line:
    sys.exit("no WRKJSON line in wrk output:\n" + open(wrkf).read())
r = json.loads(line[-1][8:])
cpu_s = int(dticks) / int(hz)
print(json.dumps({"workload": w, "scheme": scheme, "run": int(run), "rps": r["rps"],
  "msgs_per_s": round(r["rps"] * int(per), 1), "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
  "requests": r["requests"], "dmq_cpu_pct": round(100 * cpu_s / r["duration_s"], 1),
  "dmq_cpu_us_per_msg": round(1e6 * cpu_s / max(r["requests"] * int(per), 1), 2),
  "bad": r["bad_status"] + r["bad_code"] + r["bad_ids"] + sum(r["socket_errors"].values()),
  "settle": {"quiet": quiet == "true"}}))
PY
  log "$w $scheme run $run: $(tail -n1 "$RECORDS")"
}

log "redis :$REDIS_PORT  dmq http :$PLAIN_PORT  dmq https :$TLS_PORT  wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s  runs $RUNS"
for scheme in http https; do
  for s in single batch; do
    timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
      -s "$HERE/wrk/$s.lua" "${URL[$scheme]}" >"$TMP/warmup-$s-$scheme.wrk" 2>&1 || true
  done
done
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for run in $(seq "$RUNS"); do
  wrk_run W1 http "$run" single.lua 1
  wrk_run W1 https "$run" single.lua 1
  wrk_run W2 http "$run" batch.lua "$BATCH"
  wrk_run W2 https "$run" batch.lua "$BATCH"
done
flush
for scheme in http https; do
  kill -0 "${PID[$scheme]}" 2>/dev/null || die "the $scheme dmq exited during the benchmark"
done

# ---------------------------------------------------------------- report
python3 - "$RECORDS" "$START" "$RUNS" "$DURATION" "$THREADS" "$CONNECTIONS" "$BATCH" "$HERE/lib" <<'PY'
import json, os, statistics, sys
recf, start, runs, dur, threads, conns, batch, lib = sys.argv[1:]
sys.path.insert(0, lib)
import result
recs = [json.loads(l) for l in open(recf)]
def agg(w, s, k):
    v = [r[k] for r in recs if r["workload"] == w and r["scheme"] == s]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v}
keys = ("msgs_per_s", "rps", "p50_ms", "p99_ms", "dmq_cpu_pct", "dmq_cpu_us_per_msg")
summary = {w: {s: {k: agg(w, s, k) for k in keys} for s in ("http", "https")} for w in ("W1", "W2")}
ratios = {w: {k: summary[w]["https"][k]["median"] / summary[w]["http"][k]["median"]
              for k in ("msgs_per_s", "p99_ms", "dmq_cpu_us_per_msg")} for w in summary}
bad = sum(r["bad"] for r in recs)
noisy = [f'{r["workload"]} {r["scheme"]} #{r["run"]}' for r in recs if not r["settle"]["quiet"]]
for r in recs:
    r["case"], r["ok"] = f'{r["workload"]} {r["scheme"]}', r["bad"] == 0
params = {"runs": int(runs), "duration_s": int(dur), "wrk_threads": int(threads),
          "connections": int(conns), "batch": int(batch)}
out = result.write("tls", recs, summary, params, title="dmq API over TLS beside plain HTTP (issue 13)",
                   started=start, extra={"ratios": ratios, "bad_answers": bad},
                   headline=[(f"{w} {s} msg/s", [w, s, "msgs_per_s"]) for w in ("W1", "W2") for s in ("http", "https")])
f = lambda a, p=0: f"{a['median']:,.{p}f} ({a['min']:,.{p}f}–{a['max']:,.{p}f})"
print(f"\nTLS benchmark, {start}, {runs} runs × {dur} s, wrk -t{threads} -c{conns} (keep-alive); "
      "median (min–max) over runs\n")
print("| workload | scheme | msg/s | p50 ms | p99 ms | dmq CPU, % of a core | dmq CPU µs/msg |")
print("|---|---|---|---|---|---|---|")
for w in ("W1", "W2"):
    for s in ("http", "https"):
        a = summary[w][s]
        print(f"| {w} | {s} | {f(a['msgs_per_s'])} | {f(a['p50_ms'], 2)} | {f(a['p99_ms'], 2)} "
              f"| {f(a['dmq_cpu_pct'])} | {f(a['dmq_cpu_us_per_msg'], 1)} |")
print("\n| ratio https / http (medians) | msg/s | p99 | dmq CPU per msg |\n|---|---|---|---|")
for w in ("W1", "W2"):
    r = ratios[w]
    print(f"| {w} | {r['msgs_per_s']:.1%} | {r['p99_ms']:.1%} | {r['dmq_cpu_us_per_msg']:.1%} |")
print(f"\nBad answers (non-2xx, code != 0, socket errors): {bad}")
if noisy: print(f"Measured while the machine was busy with other work: {', '.join(noisy)}")
print(f"SUMMARY {json.load(open(out))['summary']}")
print(f"RESULT {out}")
PY
