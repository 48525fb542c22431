# shellcheck shell=bash
# The setup of the dispatcher's scenarios (drain, lateness, kill, memory, ceilings, soak;
# sourced after lib/common.sh is, by this file). See bench/README.md.
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
# QUIET_CORES (0.3), CONFIG_EXTRA (lines appended to config.yaml), REDIS (single; `cluster`:
# a local Redis Cluster of MASTERS (3) masters without replicas, lib/cluster.sh, and
# `redis.cluster` in the config; the one project `bench` lives on one master, whose port and
# pid are then REDIS_PORT and REDIS_PID, so RCLI and the CPU figures are that master's).
# RATE_PER_SEC defaults to 10^6 (no limit in practice) rather than dmq's 0 because up to
# a05c6f5 rate_per_sec: 0 made `dmq server` die of SIGFPE as soon as a consumer's
# in-flight window was full (consumer_worker.cc:69; fixed in 2cdca8d); the recorded runs
# used 10^6. RATE_PER_SEC=0 measures dmq's default.

# shellcheck source=bench/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CONSUMER_TIMEOUT=${CONSUMER_TIMEOUT:-2000}
CONCURRENCY=${CONCURRENCY:-64}
CLAIM_BATCH=${CLAIM_BATCH:-}
LEASE_MARGIN_MS=${LEASE_MARGIN_MS:-}
RATE_PER_SEC=${RATE_PER_SEC:-1000000}
CLEANUP_LOGS=("$TMP/client.log" "$TMP/server-*.log")

need redis-server redis-cli nginx curl python3
REDIS=${REDIS:-single}
if [[ $REDIS == cluster ]]; then
  # shellcheck source=bench/lib/cluster.sh
  source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
  start_redis_cluster "$MASTERS"
  REDIS_PORT=$(cluster_master_of 'dmq:{bench}:x')
  REDIS_PID=$(cluster_pid_of "$REDIS_PORT")
  RCLI=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
  flush() { cluster_flush; }
  REDIS_CONFIG="  cluster: $CLUSTER_SEEDS"
  log "Redis Cluster: masters ${CLUSTER_PORTS[*]} (no replicas); {bench} on :$REDIS_PORT"
else
  [[ $REDIS == single ]] || die "REDIS: single or cluster, not $REDIS"
  start_redis
  REDIS_CONFIG="  host: 127.0.0.1
  port: $REDIS_PORT"
fi
start_nginx sink
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
$REDIS_CONFIG
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

dmq_copy
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
  local sub=numsub
  [[ $REDIS == cluster ]] && sub=shardnumsub  # SSUBSCRIBE in cluster mode
  (( $("${RCLI[@]}" pubsub "$sub" 'dmq:{bench}:wake' | tail -n1) >= 1 ))
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
