#!/usr/bin/env bash
# Backs up dmq's embedded Redis while it runs: BGSAVE (a consistent point-in-time snapshot,
# written by a fork, so dmq is not paused), waits until it is written, and copies the RDB
# file out. docs/operations.md, "Backing up the embedded Redis".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/redis-backup.sh [--port PORT] DATA_DIR DEST_DIR

Asks the embedded redis-server on 127.0.0.1:PORT (default 6380, redis.port) for a
snapshot (BGSAVE), waits for it (at most 10 min), and copies DATA_DIR/dump.rdb to
DEST_DIR/dmq-redis-<UTC time>.rdb; prints that path. DATA_DIR is redis.data_dir;
the password is read from DATA_DIR/password unless REDISCLI_AUTH is set (it must be
when redis.password is configured).
EOF
}

PORT=6380
while (($#)); do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --port)
      (($# >= 2)) || { usage >&2; exit 2; }
      PORT=$2
      shift 2
      ;;
    -*)
      usage >&2
      exit 2
      ;;
    *) break ;;
  esac
done
(($# == 2)) || { usage >&2; exit 2; }
DATA=$1
DEST=$2
[[ -d "$DATA" ]] || { echo "redis-backup.sh: $DATA is not a directory" >&2; exit 2; }
mkdir -p "$DEST"
if [[ -z "${REDISCLI_AUTH:-}" && -r "$DATA/password" ]]; then
  REDISCLI_AUTH=$(cat "$DATA/password")
fi
export REDISCLI_AUTH
R=(redis-cli --no-auth-warning -h 127.0.0.1 -p "$PORT")

info() { "${R[@]}" info persistence | tr -d '\r' | sed -n "s/^$1:\(.*\)/\1/p"; }

# rdb_saves (Redis 7) counts finished snapshots; rdb_last_save_time has only seconds.
before=$(info rdb_saves) || { echo "redis-backup.sh: cannot reach redis on 127.0.0.1:$PORT" >&2; exit 1; }
[[ -n "$before" ]] || { echo "redis-backup.sh: no answer from redis on 127.0.0.1:$PORT (password?)" >&2; exit 1; }
# A BGSAVE already running (or an AOF rewrite) makes this one wait: SCHEDULE queues it.
out=$("${R[@]}" bgsave schedule)
case "$out" in
  "Background saving started" | "Background saving scheduled") ;;
  *) echo "redis-backup.sh: BGSAVE: $out" >&2; exit 1 ;;
esac
for _ in $(seq 1 6000); do # 10 min
  if [[ $(info rdb_bgsave_in_progress) == 0 ]]; then
    [[ $(info rdb_saves) != "$before" || $(info rdb_last_bgsave_status) != ok ]] && break
  fi
  sleep 0.1
done
[[ $(info rdb_last_bgsave_status) == ok ]] || { echo "redis-backup.sh: BGSAVE failed: see $DATA/redis.log" >&2; exit 1; }
[[ $(info rdb_saves) != "$before" ]] || { echo "redis-backup.sh: the snapshot did not finish in 10 min" >&2; exit 1; }
dir=$("${R[@]}" config get dir | sed -n 2p)
file=$("${R[@]}" config get dbfilename | sed -n 2p)
out="$DEST/dmq-redis-$(date -u +%Y%m%dT%H%M%SZ).rdb"
cp "$dir/$file" "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
