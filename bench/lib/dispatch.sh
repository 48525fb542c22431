# shellcheck shell=bash
# Shared by bench/drain.sh and bench/lateness.sh (sourced, not run). See bench/README.md.
#
# Sets up, on free loopback ports in a temp dir removed at exit (KEEP_TMP=1 keeps it):
#   a private redis-server (no persistence), a `dmq client` (the producers' API), and
#   nginx as the consumers' sink: `location /sink { access_log sink.log sinkfmt; return 200; }`
#   with `log_format sinkfmt '$msec $request_uri $http_x_dmq_scheduled_at'`.
# Two commands: bench:one:consumer (consumer c1, path /sink/c1) and bench:two:consumers
# (consumers d1 and d2, paths /sink/d1 and /sink/d2). `dmq server` (the dispatcher) is
# started and stopped by the caller with server_start / server_stop.
#
# The caller sets BENCH_NAME and may set CONSUMER_TIMEOUT (ms, 2000), CONCURRENCY (64),
# CLAIM_BATCH and LEASE_MARGIN_MS (dispatch.claim_batch, dispatch.lease_margin_ms; empty:
# dmq's defaults), RATE_PER_SEC (1000000), DMQ_BIN, KEEP_TMP, QUIET_MAX (60),
# QUIET_CORES (0.3), CONFIG_EXTRA (lines appended to config.yaml).
# RATE_PER_SEC defaults to 10^6 (no limit in practice) rather than dmq's 0 because up to
# a05c6f5 rate_per_sec: 0 made `dmq server` die of SIGFPE as soon as a consumer's
# in-flight window was full (consumer_worker.cc:69; fixed in 2cdca8d); the recorded runs
# used 10^6. RATE_PER_SEC=0 measures dmq's default.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(dirname "$HERE")
DMQ_BIN=${DMQ_BIN:-$ROOT/build/dmq}
KEEP_TMP=${KEEP_TMP:-0}
QUIET_MAX=${QUIET_MAX:-60}
QUIET_CORES=${QUIET_CORES:-0.3}
CONSUMER_TIMEOUT=${CONSUMER_TIMEOUT:-2000}
CONCURRENCY=${CONCURRENCY:-64}
CLAIM_BATCH=${CLAIM_BATCH:-}
LEASE_MARGIN_MS=${LEASE_MARGIN_MS:-}
RATE_PER_SEC=${RATE_PER_SEC:-1000000}
CPUSAMPLE=(python3 "$HERE/lib/cpusample.py")
POST=(python3 "$HERE/lib/post.py")

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in redis-server redis-cli nginx curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y nginx-light redis-server curl python3)"
done
[[ -x $DMQ_BIN ]] || die "$DMQ_BIN not found"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmq-$BENCH_NAME.XXXXXX")
PIDS=()
SERVER_PID=
cleanup() {
  local rc=$?
  set +e
  [[ -n $SERVER_PID ]] && PIDS+=("$SERVER_PID")
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if (( rc != 0 )); then
    log "failed (exit $rc); last lines of the dmq logs:"
    tail -n 10 "$TMP/client.log" "$TMP"/server-*.log >&2 2>/dev/null
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

# settle: wait (at most QUIET_MAX s) until other processes leave the machine idle; prints
# {"quiet":..., "busy_cores_before":...}
settle() {
  local used
  if used=$("${CPUSAMPLE[@]}" quiet "$QUIET_MAX" "$QUIET_CORES"); then
    echo "{\"quiet\":true,\"busy_cores_before\":$used}"
  else
    log "WARNING: machine still busy ($used cores) after ${QUIET_MAX}s; measuring anyway"
    echo "{\"quiet\":false,\"busy_cores_before\":$used}"
  fi
}

# ---------------------------------------------------------------- redis
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
RCLI=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
wait_for 10 "${RCLI[@]}" ping || die "redis-server did not start (see $TMP/redis.log)"

# flush: empties Redis but keeps dmq's id-generator lease keys (as in bench/ingest.sh)
FLUSH_LUA="local keep={} for n=0,31 do local k=ARGV[1]..':node:'..n local v=redis.call('GET',k)
if v then keep[#keep+1]={k,v,redis.call('PTTL',k),redis.call('GET',k..':clock')} end end
redis.call('FLUSHALL')
for _,e in ipairs(keep) do redis.call('SET',e[1],e[2],'PX',math.max(e[3],1000))
if e[4] then redis.call('SET',e[1]..':clock',e[4]) end end return #keep"
flush() { "${RCLI[@]}" eval "$FLUSH_LUA" 0 dmq >/dev/null; }

# ---------------------------------------------------------------- nginx sink
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
# sink_reset: empty the access log (nginx appends with O_APPEND, so truncating is safe)
sink_reset() { : >"$SINK_LOG"; }
sink_lines() { wc -l <"$SINK_LOG"; }
sink_has() { (( $(sink_lines) >= $1 )); }

# ---------------------------------------------------------------- dmq
HTTP_PORT=$(free_port)
CFG="$TMP/config"
mkdir -p "$CFG/commands"
DISPATCH_YAML=
if [[ -n $CLAIM_BATCH || -n $LEASE_MARGIN_MS ]]; then
  DISPATCH_YAML="dispatch:${CLAIM_BATCH:+
  claim_batch: $CLAIM_BATCH}${LEASE_MARGIN_MS:+
  lease_margin_ms: $LEASE_MARGIN_MS}"
fi
cat >"$CFG/config.yaml" <<EOF
http_port: $HTTP_PORT
http:
  listen: 127.0.0.1
product_list:
  - project: bench
    allow_ip: [127.0.0.1]
msg_save_days: 1
redis:
  host: 127.0.0.1
  port: $REDIS_PORT
  read_timeout: 5
  write_timeout: 5
command_list:
  - cmd-one.yaml
  - cmd-two.yaml
limits:
  max_batch_items: 1000
$DISPATCH_YAML
log:
  level: warn
${CONFIG_EXTRA:-}
EOF
consumer() {  # consumer NAME: one consumer_list entry on the nginx sink
  cat <<EOF
  - name: $1
    host: 127.0.0.1:$NGINX_PORT
    path: /sink/$1
    timeout: $CONSUMER_TIMEOUT
    retry_times: 3
    interval: 1000
    concurrency: $CONCURRENCY
    rate_per_sec: $RATE_PER_SEC
EOF
}
{ echo "project: bench"; echo "command: bench:one:consumer"; echo "consumer_list:"; consumer c1; } \
  >"$CFG/commands/cmd-one.yaml"
{ echo "project: bench"; echo "command: bench:two:consumers"; echo "consumer_list:"; consumer d1; consumer d2; } \
  >"$CFG/commands/cmd-two.yaml"
CMD_1=bench:one:consumer CMD_2=bench:two:consumers
CONSUMERS_1="c1" CONSUMERS_2="d1 d2"

# run a private copy, so that a rebuild of build/dmq during the benchmark does not touch it
for _ in $(seq 120); do
  [[ -x $DMQ_BIN ]] && cp "$DMQ_BIN" "$TMP/dmq" 2>/dev/null && "$TMP/dmq" --help >/dev/null 2>&1 && break
  log "waiting for $DMQ_BIN (being rebuilt?)"; sleep 1
done
DMQ_SHA=$(sha256sum "$TMP/dmq" | cut -c1-12)
log "dmq binary: $DMQ_BIN, $(date -u -r "$DMQ_BIN" +%H:%M:%SZ), sha256 $DMQ_SHA…"
"$TMP/dmq" client "$CFG" >"$TMP/client.log" 2>&1 &
CLIENT_PID=$!; PIDS+=("$CLIENT_PID")
DMQ_URL="http://127.0.0.1:$HTTP_PORT"
wait_for 20 curl -fsS -m 1 "$DMQ_URL/healthz" || die "dmq client did not become healthy"

# server_start TAG: starts `dmq server` (the dispatcher), log in $TMP/server-TAG.log
server_start() {
  "$TMP/dmq" server "$CFG" >"$TMP/server-$1.log" 2>&1 &
  SERVER_PID=$!
}
# server_ready: `dmq server` has subscribed to the wake channel (it is connected to Redis
# and its consumer workers are up)
server_ready() {
  (( $("${RCLI[@]}" pubsub numsub 'dmq:{bench}:wake' | tail -n1) >= 1 ))
}
# server_stop: SIGTERM, then wait (bounded) for it to exit
server_stop() {
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
# log_counts FILE: "errors warnings" lines in a dmq log
log_counts() {
  echo "$(grep -c ' error ' "$1" 2>/dev/null || true) $(grep -c ' warning ' "$1" 2>/dev/null || true)"
}

git_info() {
  python3 - "$ROOT" <<'PY'
import json, subprocess, sys
def git(*a):
    try: return subprocess.run(["git", "-C", sys.argv[1], *a], capture_output=True, text=True).stdout.strip()
    except Exception: return ""
print(json.dumps({"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "src"))}))
PY
}
