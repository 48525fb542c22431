#!/usr/bin/env bash
# Restores an RDB backup (scripts/redis-backup.sh) into the data_dir of dmq's embedded
# Redis, while no dmq runs on it. dmq starts its redis-server with appendonly yes, and a
# Redis with appendonly yes loads its AOF and ignores dump.rdb (Redis 7 even starts on an
# empty dataset, with a new empty AOF, when only dump.rdb is there). So the RDB is loaded
# by a redis-server of our own (on a unix socket) with appendonly off, which then writes
# the AOF from it (CONFIG SET appendonly yes) and exits. docs/operations.md, "Backing up
# the embedded Redis".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/redis-restore.sh BACKUP.rdb DATA_DIR

Stop every dmq on the configuration first. Moves DATA_DIR's current data (dump.rdb,
appendonlydir/) aside into DATA_DIR/before-restore-<UTC time>/, loads BACKUP.rdb into
a temporary redis-server (on a unix socket), has it write DATA_DIR/appendonlydir/,
and stops it. The next `dmq run` / `dmq client` starts on the restored data.
EOF
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
esac
(($# == 2)) || { usage >&2; exit 2; }
BACKUP=$1
DATA=$2
[[ -f "$BACKUP" ]] || { echo "redis-restore.sh: no such file: $BACKUP" >&2; exit 2; }
mkdir -p "$DATA"
BACKUP=$(cd "$(dirname "$BACKUP")" && pwd)/$(basename "$BACKUP")
DATA=$(cd "$DATA" && pwd)

# A dmq that owns the data_dir holds a lock on dmq.lock for its whole life.
if [[ -e "$DATA/dmq.lock" ]] && ! flock -n "$DATA/dmq.lock" true; then
  echo "redis-restore.sh: a dmq runs on $DATA (it holds $DATA/dmq.lock): stop it first" >&2
  exit 1
fi

aside="$DATA/before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
for f in dump.rdb appendonlydir; do
  if [[ -e "$DATA/$f" ]]; then
    mkdir -p "$aside"
    mv "$DATA/$f" "$aside/"
  fi
done
[[ -d "$aside" ]] && echo "redis-restore.sh: the data it replaces is in $aside"
cp "$BACKUP" "$DATA/dump.rdb"

# The temporary server listens on a unix socket only: no port to find, nothing reachable.
sockdir=$(mktemp -d)
redis-server --port 0 --unixsocket "$sockdir/redis.sock" --unixsocketperm 700 --dir "$DATA" \
  --dbfilename dump.rdb --appendonly no --save "" --daemonize no --logfile "$DATA/restore.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$sockdir"' EXIT
R=(redis-cli -s "$sockdir/redis.sock")
info() { "${R[@]}" info persistence | tr -d '\r' | sed -n "s/^$1:\(.*\)/\1/p"; }
for _ in $(seq 1 6000); do # loading a large RDB takes a while: 10 min at most
  [[ $(info loading 2>/dev/null) == 0 ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "redis-restore.sh: redis-server exited: $(tail -5 "$DATA/restore.log")" >&2; exit 1; }
  sleep 0.1
done
[[ $(info loading) == 0 ]] || { echo "redis-restore.sh: the RDB did not load in 10 min" >&2; exit 1; }
keys=$("${R[@]}" info keyspace | tr -d '\r' | grep '^db' || true)
"${R[@]}" config set appendonly yes >/dev/null
for _ in $(seq 1 6000); do # the AOF rewrite: 10 min at most
  if [[ $(info aof_enabled) == 1 && $(info aof_rewrite_in_progress) == 0 &&
    $(info aof_rewrite_scheduled) == 0 ]]; then
    break
  fi
  sleep 0.1
done
[[ $(info aof_enabled) == 1 && $(info aof_last_bgrewrite_status) == ok ]] ||
  { echo "redis-restore.sh: writing the AOF failed: $(tail -5 "$DATA/restore.log")" >&2; exit 1; }
"${R[@]}" shutdown >/dev/null 2>&1 || true
wait "$pid" || true
trap - EXIT
rm -rf "$sockdir"
rm -f "$DATA/dump.rdb"
echo "redis-restore.sh: restored $BACKUP into $DATA/appendonlydir (${keys//$'\n'/; })"
