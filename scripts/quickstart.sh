#!/usr/bin/env bash
# First run of dmq: install what is missing, build, check the example config,
# then run client + server in the foreground (Ctrl-C stops it cleanly).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CALLER_PWD="$PWD"

usage() {
  cat <<'EOF'
Usage: scripts/quickstart.sh [CONFIG_DIR]

Installs missing dependencies and builds build/dmq (scripts/setup.sh), checks
the configuration (default: ./config), prints how to send a first message, then
runs `build/dmq run CONFIG_DIR` in the foreground. Ctrl-C stops it cleanly.
EOF
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
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

cat <<EOF

==> [quickstart] step 3/3: dmq run $CONFIG
------------------------------------------------------------------------------
 dmq ingest API: $API      (health: curl -s $API/healthz)

 In another terminal, send a first message (due in 5 s):

   curl -s -X POST $API/api/message/single \\
     -H 'Content-Type: application/json' \\
     -d '{"project":"sds","cmd":"sds:create:order","params":"{\\"order_id\\":1}","bucket":"order:1","delay_ms":5000}'

 The answer's "data" is the message id. Ask how consumer dgfa is doing with it
 (replace MSG_ID):

   curl -s "$API/api/message/status?consumer=dgfa&msg_id=MSG_ID"

 Or both at once, the id kept in \$id:

   id=\$(curl -s -X POST $API/api/message/single -H 'Content-Type: application/json' \\
     -d '{"project":"sds","cmd":"sds:create:order","params":"{\\"order_id\\":1}","bucket":"order:1","delay_ms":5000}' \\
     | sed -n 's/.*"data":"\\{0,1\\}\\([0-9]\\{1,\\}\\).*/\\1/p'); echo "msg_id=\$id"
   curl -s "$API/api/message/status?consumer=dgfa&msg_id=\$id"

 Ctrl-C stops dmq cleanly. To run it in the background: ./dmq.sh start run
------------------------------------------------------------------------------

EOF

exec "$ROOT/build/dmq" run "$CONFIG"
