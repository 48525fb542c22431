# shellcheck shell=bash
# The helpers every scenario of bench/scenarios/ shares (sourced, not run): logging, a temp
# dir and the cleanup of every process started, free ports, bounded waits, the wait for a
# quiet machine, a private redis-server, its flush that keeps dmq's id leases, an nginx
# (a `return 200` or the consumers' sink), and a private copy of the dmq binary.
# See bench/README.md, "Writing a scenario".
#
# The caller sets BENCH_NAME. Knobs: DMQ_BIN (build/dmq), KEEP_TMP (0), QUIET_MAX (60),
# QUIET_CORES (0.3).

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)  # bench/
ROOT=$(dirname "$HERE")
DMQ_BIN=${DMQ_BIN:-$ROOT/build/dmq}
KEEP_TMP=${KEEP_TMP:-0}
QUIET_MAX=${QUIET_MAX:-60}
QUIET_CORES=${QUIET_CORES:-0.3}
CPUSAMPLE=(python3 "$HERE/lib/cpusample.py")
POST=(python3 "$HERE/lib/post.py")
RESULT_PY=(python3 "$HERE/lib/result.py")

log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need TOOL...: dies naming the Debian packages if a tool is missing
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      die "$tool not found (apt-get install -y wrk nginx-light redis-server curl openssl python3)"
  done
}

# ---------------------------------------------------------------- temp dir, cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmq-$BENCH_NAME.XXXXXX")
PIDS=()         # stopped at exit: SIGTERM, 5 s, SIGKILL
SERVER_PID=     # lib/dispatch.sh's `dmq server`, stopped at exit too
CLEANUP_LOGS=() # globs of the logs tailed when the scenario fails
CLEANUP_RM=()   # removed at exit even when the temp dir is kept (big files)
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
  ((${#CLEANUP_RM[@]})) && rm -f "${CLEANUP_RM[@]}"
  if ((rc != 0)); then
    local g files=()
    for g in "${CLEANUP_LOGS[@]}"; do mapfile -t -O "${#files[@]}" files < <(compgen -G "$g"); done
    if ((${#files[@]})); then
      log "failed (exit $rc); last lines of the dmq logs:"
      tail -n 10 "${files[@]}" >&2 2>/dev/null
    fi
  fi
  if [[ $KEEP_TMP == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() { # wait_for SECONDS CMD...: retry CMD until it succeeds
  local until=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < until)) || return 1
    sleep 0.1
  done
}

# child_of PID [NAME]: PID's first child (or grandchild) called NAME (any name if none),
# waited for up to 3 s while it starts
child_of() {
  local c g
  for _ in $(seq 60); do
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
      if [[ -z ${2:-} || $(cat "/proc/$c/comm" 2>/dev/null) == "$2" ]]; then
        echo "$c"
        return
      fi
      for g in $(cat /proc/"$c"/task/*/children 2>/dev/null); do
        [[ $(cat "/proc/$g/comm" 2>/dev/null) == "$2" ]] && { echo "$g"; return; }
      done
    done
    sleep 0.05
  done
}

# settle: wait (at most QUIET_MAX s) until other processes leave the machine idle (< QUIET_CORES
# cores busy), so a neighbour's compile is not measured as ours; prints
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

# log_counts FILE: "errors warnings" lines in a dmq log
log_counts() {
  echo "$(grep -c ' error ' "$1" 2>/dev/null || true) $(grep -c ' warning ' "$1" 2>/dev/null || true)"
}

# ---------------------------------------------------------------- redis
# start_redis: a private redis-server without persistence; sets REDIS_PORT, REDIS_PID, RCLI
start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  RCLI=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
  wait_for 10 "${RCLI[@]}" ping || die "redis-server did not start (see $TMP/redis.log)"
}

# flush: empties Redis (FLUSHALL) but keeps dmq's id-generator lease keys, atomically:
# without them dmq would see its lease lost at its next renewal and refuse ids
FLUSH_LUA="local keep={} for n=0,31 do local k=ARGV[1]..':node:'..n local v=redis.call('GET',k)
if v then keep[#keep+1]={k,v,redis.call('PTTL',k),redis.call('GET',k..':clock')} end end
redis.call('FLUSHALL')
for _,e in ipairs(keep) do redis.call('SET',e[1],e[2],'PX',math.max(e[3],1000))
if e[4] then redis.call('SET',e[1]..':clock',e[4]) end end return #keep"
flush() { "${RCLI[@]}" eval "$FLUSH_LUA" 0 dmq >/dev/null; }

# ---------------------------------------------------------------- nginx
# start_nginx MODE: nginx, one worker, on a free port; MODE `return200` (`location / {
# return 200; }`, no log) or `sink` (`location /sink`, each request logged to $SINK_LOG as
# '$msec $request_uri $http_x_dmq_scheduled_at'). Sets NGINX_PORT, NGINX_PID, NGINX_WORKER.
start_nginx() {
  local loc
  NGINX_PORT=$(free_port)
  SINK_LOG="$TMP/nginx/sink.log"
  mkdir -p "$TMP/nginx"
  if [[ $1 == sink ]]; then
    loc="location /sink { access_log $SINK_LOG sinkfmt; return 200; }"
  else
    loc="location / { return 200; }"
  fi
  cat >"$TMP/nginx/nginx.conf" <<NGINX
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
    $loc
  }
}
NGINX
  nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  local probe="http://127.0.0.1:$NGINX_PORT/"
  [[ $1 == sink ]] && probe+="sink/probe"
  wait_for 10 curl -fsS -m 1 -o /dev/null "$probe" || die "nginx did not start (see $TMP/nginx/error.log)"
  NGINX_WORKER=$(awk '{print $1}' "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null)
}

# ---------------------------------------------------------------- dmq
# dmq_copy: $TMP/dmq, a private copy of DMQ_BIN, so that a rebuild of build/dmq during the
# benchmark does not touch it (waits up to 2 min for a build in progress); sets DMQ_SHA
dmq_copy() {
  for _ in $(seq 120); do
    [[ -x $DMQ_BIN ]] && cp "$DMQ_BIN" "$TMP/dmq" 2>/dev/null && "$TMP/dmq" --help >/dev/null 2>&1 && break
    log "waiting for $DMQ_BIN (being rebuilt?)"
    sleep 1
  done
  [[ -x $TMP/dmq ]] || die "$DMQ_BIN not found (build it: ninja -C build dmq)"
  DMQ_SHA=$(sha256sum "$TMP/dmq" | cut -c1-12)
  log "dmq binary: $DMQ_BIN, $(date -u -r "$DMQ_BIN" +%H:%M:%SZ), sha256 $DMQ_SHA…"
}
