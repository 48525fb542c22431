#!/usr/bin/env bash
# First run of dmq: install what is missing, build, check the example config, start a
# demo consumer where the example delivers, then run client + server in the foreground
# (Ctrl-C stops both cleanly).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CALLER_PWD="$PWD"

usage() {
  cat <<'EOF'
Usage: scripts/quickstart.sh [--no-demo] [CONFIG_DIR]

Installs missing dependencies and builds build/dmq (scripts/setup.sh), checks
the configuration (default: ./config), starts `build/dmq demo-consumer` on each
loopback port its command files deliver to (127.0.0.1:8959 in the example) unless
--no-demo, prints how to send a first message, then runs `build/dmq run
CONFIG_DIR` in the foreground. Ctrl-C stops dmq and the demo consumer cleanly.
EOF
}

DEMO=1
case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  --no-demo)
    DEMO=0
    shift
    ;;
  -*)
    printf 'quickstart.sh: unknown option: %s\n\n' "$1" >&2
    usage >&2
    exit 2
    ;;
esac
if (($# > 1)); then
  usage >&2
  exit 2
fi

CONFIG="${1:-$ROOT/config}"
[[ "$CONFIG" == /* ]] || CONFIG="$CALLER_PWD/$CONFIG"
cd "$ROOT"

log() { printf '==> [quickstart] %s\n' "$*"; }

log "step 1/3: dependencies and build"
"$ROOT/scripts/setup.sh" --target dmq

log "step 2/3: build/dmq check $CONFIG"
if ! "$ROOT/build/dmq" check "$CONFIG"; then
  log "ERROR: the configuration in $CONFIG has errors (see above)"
  exit 1
fi

# Where the API listens: http_port and http.listen of config.yaml.
cfg="$CONFIG/config.yaml"
port=$(sed -n 's/^http_port:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$cfg" 2>/dev/null | head -n1) || true
listen=$(awk '/^[^[:space:]#]/ { inhttp = ($0 ~ /^http:/) }
              inhttp && /^[[:space:]]+listen:/ { sub(/^[[:space:]]+listen:[[:space:]]*/, ""); sub(/[[:space:]]*#.*/, ""); gsub(/["\047]/, ""); print; exit }' \
  "$cfg" 2>/dev/null) || true
port="${port:-8989}"
case "$listen" in
  "" | 0.0.0.0 | "::" | "[::]" | localhost) listen=127.0.0.1 ;;
esac
if [[ "$listen" == *:* ]]; then listen="[$listen]"; fi
API="http://$listen:$port"

# The demo consumer: the example's commands deliver to 127.0.0.1:8959, where nothing
# listens on a fresh machine. One `dmq demo-consumer` per loopback http port the command
# files name makes the first message reach `done`; a port already taken (your own
# consumer) is left alone.
demo_pids=()
demo_ports=()
stop_demos() {
  local pid
  for pid in "${demo_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${demo_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  demo_pids=()
}
trap stop_demos EXIT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ((DEMO)); then
  mapfile -t ports < <(
    for f in "$CONFIG"/*.yaml "$CONFIG"/commands/*.yaml; do
      [[ -f "$f" && "${f##*/}" != config.yaml ]] && cat "$f"
    done | grep -oE "^[[:space:]-]*host:[[:space:]]*[\"']?(http://)?(127\.0\.0\.1|localhost):[0-9]{1,5}" |
      grep -oE '[0-9]{1,5}$' | sort -un
  ) || true
  for p in "${ports[@]}"; do
    if listening "$p"; then
      log "127.0.0.1:$p already answers (your consumer?): no demo consumer there"
      continue
    fi
    "$ROOT/build/dmq" demo-consumer --listen "127.0.0.1:$p" &
    demo_pids+=("$!")
    demo_ports+=("127.0.0.1:$p")
    for _ in $(seq 1 50); do # bounded: it listens within milliseconds
      listening "$p" && break
      sleep 0.1
    done
  done
fi

cat <<EOF

==> [quickstart] step 3/3: dmq run $CONFIG
------------------------------------------------------------------------------
 dmq API:   $API/api/      health:  curl -s $API/healthz
 dashboard: $API/ui/       metrics: curl -s $API/metrics
EOF
if ((${#demo_pids[@]})); then
  echo " demo consumer on ${demo_ports[*]}: answers 200 and logs each delivery here"
fi
cat <<EOF

 In another terminal, send a first message (due in 5 s):

   curl -s -XPOST $API/api/message/single -d '{
     "project": "sds", "cmd": "sds:create:order", "bucket": "order:34256",
     "params": "{\"order_id\":34256}", "delay_ms": 5000}'

 The answer's "data" is the message id. About 5 s later the demo consumer logs
 its delivery to consumers dgfa and fghyds here. Ask how dgfa did with it
 (replace MSG_ID): "waiting" before, "done" after:

   curl -s "$API/api/message/status?msg_id=MSG_ID&consumer=dgfa"
   build/dmq status --url $API MSG_ID dgfa

 Ctrl-C stops dmq and the demo consumer cleanly. In the background: ./dmq.sh start run
------------------------------------------------------------------------------

EOF

# Not exec: the demo consumers are stopped once dmq has stopped. Ctrl-C reaches dmq
# itself (the terminal's foreground group); a background job of a script ignores SIGINT,
# hence the trap.
rc=0
"$ROOT/build/dmq" run "$CONFIG" || rc=$?
stop_demos
exit "$rc"
