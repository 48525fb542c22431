#!/usr/bin/env bash
# Run the built dmq in the background: start | stop | restart | status.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CALLER_PWD="$PWD"

usage() {
  cat <<'EOF'
Usage: ./dmq.sh start|stop|restart|status client|server|run [CONFIG_DIR] [--workers N]

Runs the built binary in the background (build it first: ./dev.sh build).
  client      the HTTP ingest API
  server      the dispatcher
  run         both in one process
CONFIG_DIR defaults to ./config (of the repository).
--workers N (start, restart) runs N processes of the role on one port under
one parent that restarts a dead one (dmq ROLE --workers N; overrides the
config's workers key; docs/scaling.md). The pid file holds the parent's pid:
stop and status act on it, and status lists the workers.

Files (under the repository):
  run/dmq-ROLE.pid    pid file
  logs/dmq-ROLE.out   stdout/stderr of the process (dmq writes its own
                      rotating log under the config's log.dir)

Environment:
  DMQ_BIN            binary (default: ./build/dmq)
  DMQ_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 30)
  DMQ_START_TIMEOUT  seconds start waits for the process to come up (default 10)
  DMQ_RUN_DIR        pid file directory (default: ./run)
  DMQ_OUT_DIR        .out file directory (default: ./logs)
  DMQ_WORKERS        as --workers N, when the flag is not given

Exit codes: 0 ok (stop: also when SIGKILL was needed, with a warning);
            1 failed (start failed, already running, could not stop);
            2 usage error; 3 status: not running.
EOF
}

say() { printf 'dmq.sh: %s\n' "$*"; }
warn() { printf 'dmq.sh: WARNING: %s\n' "$*" >&2; }
err() { printf 'dmq.sh: ERROR: %s\n' "$*" >&2; }
bad_usage() {
  printf 'dmq.sh: %s\n\n' "$*" >&2
  usage >&2
  exit 2
}

abspath() { # relative paths are relative to where the caller stands
  if [[ "$1" == /* ]]; then printf '%s\n' "$1"; else printf '%s\n' "$CALLER_PWD/$1"; fi
}
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
esac
WORKERS="${DMQ_WORKERS:-}"
ARGS=()
while (($# > 0)); do
  case "$1" in
    --workers)
      (($# >= 2)) || bad_usage "--workers needs a number"
      WORKERS="$2"
      shift 2
      ;;
    --workers=*)
      WORKERS="${1#--workers=}"
      shift
      ;;
    *)
      ARGS+=("$1")
      shift
      ;;
  esac
done
set -- "${ARGS[@]}"
(($# >= 2 && $# <= 3)) || bad_usage "expected ACTION ROLE [CONFIG_DIR] [--workers N]"
ACTION="$1"
ROLE="$2"
if [[ -n "$WORKERS" ]]; then
  if ! [[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || ((WORKERS > 32)); then
    bad_usage "--workers must be 1..32"
  fi
fi
case "$ACTION" in start | stop | restart | status) ;; *) bad_usage "unknown action: $ACTION" ;; esac
case "$ROLE" in client | server | run) ;; *) bad_usage "unknown role: $ROLE (client|server|run)" ;; esac

if (($# == 3)); then CONFIG_DIR="$(abspath "$3")"; else CONFIG_DIR="$ROOT/config"; fi
if [[ -n "${DMQ_BIN:-}" ]]; then BIN="$(abspath "$DMQ_BIN")"; else BIN="$ROOT/build/dmq"; fi
RUN_DIR="$(abspath "${DMQ_RUN_DIR:-$ROOT/run}")"
OUT_DIR="$(abspath "${DMQ_OUT_DIR:-$ROOT/logs}")"
STOP_TIMEOUT="${DMQ_STOP_TIMEOUT:-30}"
START_TIMEOUT="${DMQ_START_TIMEOUT:-10}"
is_uint "$STOP_TIMEOUT" || bad_usage "DMQ_STOP_TIMEOUT must be a whole number of seconds"
is_uint "$START_TIMEOUT" || bad_usage "DMQ_START_TIMEOUT must be a whole number of seconds"

PID_FILE="$RUN_DIR/dmq-$ROLE.pid"
OUT_FILE="$OUT_DIR/dmq-$ROLE.out"

cd "$ROOT"

# True when PID is a live (non-zombie) process whose command line mentions dmq.
is_dmq_alive() {
  local pid="$1" stat state parts=()
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  state="${stat##*) }"
  state="${state%% *}"
  [[ "$state" != "Z" && "$state" != "X" ]] || return 1
  { mapfile -d '' -t parts <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [[ "${parts[*]}" == *dmq* ]]
}

# Prints the pids of PID's workers (children run with --worker), space separated.
workers_of() {
  local pid="$1" c parts=() out=() all=()
  read -r -a all < <(cat /proc/"$pid"/task/*/children 2>/dev/null) || true
  for c in "${all[@]}"; do
    { mapfile -d '' -t parts <"/proc/$c/cmdline"; } 2>/dev/null || continue
    [[ " ${parts[*]} " == *" --worker "* ]] && out+=("$c")
  done
  printf '%s' "${out[*]}"
}

# Prints http://ADDR:PORT/healthz from CONFIG_DIR/config.yaml (http_port,
# http.listen); fails when the port cannot be read.
health_url() {
  local cfg="$CONFIG_DIR/config.yaml" port listen
  [[ -r "$cfg" ]] || return 1
  port=$(sed -n 's/^http_port:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$cfg" | head -n1)
  [[ -n "$port" ]] || return 1
  listen=$(awk '/^[^[:space:]#]/ { inhttp = ($0 ~ /^http:/) }
                inhttp && /^[[:space:]]+listen:/ { sub(/^[[:space:]]+listen:[[:space:]]*/, ""); sub(/[[:space:]]*#.*/, ""); gsub(/["\047]/, ""); print; exit }' "$cfg")
  case "$listen" in
    "" | 0.0.0.0 | "::" | "[::]" | localhost) listen=127.0.0.1 ;;
  esac
  [[ "$listen" == *:* ]] && listen="[$listen]"
  printf 'http://%s:%s/healthz\n' "$listen" "$port"
}

read_pid() { # prints the pid in the pid file, or nothing
  [[ -f "$PID_FILE" ]] || return 0
  local pid
  pid=$(head -n1 "$PID_FILE" 2>/dev/null | tr -dc '0-9')
  printf '%s' "$pid"
}

now_ms() { # wall clock in ms (bash 5 builtin, no fork)
  local t="${EPOCHREALTIME/[.,]/}"
  printf '%s' "$((t / 1000))"
}

# Prints what this start appended to the .out file (its last 20 lines).
show_out_tail() {
  local from="${1:-0}"
  if [[ -s "$OUT_FILE" ]]; then
    err "last lines of $OUT_FILE:"
    tail -c +"$((from + 1))" "$OUT_FILE" | tail -n 20 | sed 's/^/    /' >&2
  else
    err "$OUT_FILE is empty"
  fi
}

do_status() {
  local pid
  pid=$(read_pid)
  if [[ -n "$pid" ]] && is_dmq_alive "$pid"; then
    local workers
    workers=$(workers_of "$pid")
    if [[ -n "$workers" ]]; then
      say "dmq $ROLE: running (pid $pid; workers: $workers)"
    else
      say "dmq $ROLE: running (pid $pid)"
    fi
    return 0
  fi
  if [[ -f "$PID_FILE" ]]; then
    say "dmq $ROLE: stopped (stale pid file $PID_FILE)"
  else
    say "dmq $ROLE: stopped"
  fi
  return 3
}

do_start() {
  local pid
  pid=$(read_pid)
  if [[ -n "$pid" ]] && is_dmq_alive "$pid"; then
    err "dmq $ROLE is already running (pid $pid); use: $0 restart $ROLE"
    return 1
  fi
  if [[ -f "$PID_FILE" ]]; then
    say "removing stale pid file $PID_FILE"
    rm -f "$PID_FILE"
  fi
  if [[ ! -x "$BIN" ]]; then
    err "binary $BIN not found or not executable (build it: ./dev.sh build, or set DMQ_BIN)"
    return 1
  fi
  if [[ ! -d "$CONFIG_DIR" ]]; then
    err "config directory $CONFIG_DIR not found"
    return 1
  fi
  mkdir -p "$RUN_DIR" "$OUT_DIR"
  printf '\n===== %s dmq.sh start %s %s =====\n' "$(date '+%F %T')" "$ROLE" "$CONFIG_DIR" >>"$OUT_FILE"
  local out_from
  out_from=$(stat -c %s "$OUT_FILE")

  # setsid: own session, so a Ctrl-C in this terminal never reaches it.
  # (Job control is off in scripts, so setsid execs directly and $! is dmq's pid.)
  local extra=()
  [[ -n "$WORKERS" ]] && extra=(--workers "$WORKERS")
  setsid nohup "$BIN" "$ROLE" "$CONFIG_DIR" "${extra[@]}" >>"$OUT_FILE" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"

  # The process must survive ~1 s of startup; then client/run must answer
  # /healthz. The whole wait is bounded by DMQ_START_TIMEOUT.
  local t0 deadline grace_end
  t0=$(now_ms)
  grace_end=$((t0 + 1000))
  deadline=$((t0 + START_TIMEOUT * 1000))
  ((deadline >= grace_end)) || deadline=$grace_end
  local url="" code="000"
  if [[ "$ROLE" != "server" ]] && command -v curl >/dev/null 2>&1; then
    url=$(health_url) || url=""
  fi
  while true; do
    if ! is_dmq_alive "$pid"; then
      local rc
      if wait "$pid" 2>/dev/null; then rc=0; else rc=$?; fi
      rm -f "$PID_FILE"
      err "dmq $ROLE exited during startup (exit code $rc)"
      show_out_tail "$out_from"
      return 1
    fi
    local now
    now=$(now_ms)
    if ((now >= grace_end)); then
      [[ -z "$url" ]] && break
      code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" 2>/dev/null) || true
      [[ "$code" == "200" ]] && break
      now=$(now_ms)
    fi
    ((now < deadline)) || break
    sleep 0.1
  done
  local workers
  workers=$(workers_of "$pid")
  say "dmq $ROLE started (pid $pid${workers:+; workers: $workers}, config $CONFIG_DIR, output $OUT_FILE)"
  if [[ -n "$url" ]]; then
    if [[ "$code" == "200" ]]; then
      say "dmq $ROLE ready: $url answers 200"
    else
      warn "dmq $ROLE is running but $url did not answer 200 within ${START_TIMEOUT} s (last HTTP status: $code); see $OUT_FILE"
    fi
  fi
  return 0
}

do_stop() {
  local pid
  pid=$(read_pid)
  if [[ -z "$pid" ]] || ! is_dmq_alive "$pid"; then
    if [[ -f "$PID_FILE" ]]; then
      say "dmq $ROLE not running (removing stale pid file $PID_FILE)"
      rm -f "$PID_FILE"
    else
      say "dmq $ROLE not running"
    fi
    return 0
  fi
  say "stopping dmq $ROLE (pid $pid, SIGTERM, up to ${STOP_TIMEOUT} s)"
  kill -TERM "$pid" 2>/dev/null || true
  local polls=0 max_polls=$((STOP_TIMEOUT * 10))
  while is_dmq_alive "$pid" && ((polls < max_polls)); do
    sleep 0.1
    polls=$((polls + 1))
  done
  if is_dmq_alive "$pid"; then
    warn "dmq $ROLE (pid $pid) still alive after ${STOP_TIMEOUT} s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    polls=0
    while is_dmq_alive "$pid" && ((polls < 50)); do
      sleep 0.1
      polls=$((polls + 1))
    done
    if is_dmq_alive "$pid"; then
      err "dmq $ROLE (pid $pid) survived SIGKILL"
      return 1
    fi
    rm -f "$PID_FILE"
    say "dmq $ROLE killed"
    return 0
  fi
  rm -f "$PID_FILE"
  say "dmq $ROLE stopped"
  return 0
}

case "$ACTION" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop && do_start ;;
  status) do_status ;;
esac
