#!/usr/bin/env bash
# Redis memory per message in each state dmq keeps one, for sizing Redis
# (docs/operations.md, "Sizing Redis memory"). Bounded: every wait has a limit.
#
# Starts a redis-server (appendonly yes, noeviction) on a free loopback port, `dmq run`
# and three `dmq demo-consumer`s (200; 503 to first attempts; 503) on free ports, then per phase
# stores N messages with PARAMS_BYTES-byte params through /api/message/batch (1000 a
# request) and reads INFO memory's used_memory before and after (bytes per message =
# delta / N):
#   done      one consumer, due now, delivered (200): what a settled message costs for
#             the 2 x msg_save_days it is kept
#   retried   one consumer, answered 503 then 200: done, with an attempt history of two
#             entries (kept as long as the record)
#   failed    one consumer, retry_times 0, answered 503: settled as failure, in the
#             pending list, with an attempt history of one entry
#   waiting1  one consumer, due in 1 h
#   waiting2  two consumers, due in 1 h
# Phases add up in one Redis (nothing is flushed). Prints a table and writes the result
# (bench/lib/result.py) to bench/results/sizing-<UTC stamp>.json.
# Knobs: N=100000 PARAMS_BYTES=100 DMQ_BIN=build/dmq.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N=${N:-100000}
PARAMS_BYTES=${PARAMS_BYTES:-100}
DMQ=${DMQ_BIN:-$ROOT/build/dmq}
TMP=$(mktemp -d /tmp/dmq-sizing.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
die() {
  echo "sizing.sh: $*" >&2
  exit 1
}

read -r REDIS API OK FAIL RETRY < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
R=(redis-cli -p "$REDIS")

redis-server --port "$REDIS" --bind 127.0.0.1 --dir "$TMP" --appendonly yes --save "" \
  --maxmemory-policy noeviction --daemonize no --logfile "$TMP/redis.log" &
pids+=("$!")
for _ in $(seq 1 100); do "${R[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
"${R[@]}" ping >/dev/null || die "redis-server did not start"

mkdir -p "$TMP/cfg/commands"
cat >"$TMP/cfg/config.yaml" <<EOF
http_port: $API
http: {listen: 127.0.0.1}
product_list:
  - project: sz
    allow_ip: [127.0.0.1]
msg_save_days: 4
disable_success_log: 1
redis: {host: 127.0.0.1, port: $REDIS, db: 0}
limits: {max_batch_items: 1000}
command_list: [ok1.yaml, ok2.yaml, fail.yaml, retry.yaml]
log: {dir: "", level: warn}
EOF
consumer() { # name port retry_times
  printf '  - {host: "127.0.0.1:%s", name: %s, path: /c, timeout: 2000, retry_times: %s, interval: 100}\n' "$2" "$1" "$3"
}
{ echo "project: sz"; echo "command: sz:ok1"; echo "consumer_list:"; consumer one "$OK" 3; } >"$TMP/cfg/commands/ok1.yaml"
{ echo "project: sz"; echo "command: sz:ok2"; echo "consumer_list:"; consumer two_a "$OK" 3; consumer two_b "$OK" 3; } >"$TMP/cfg/commands/ok2.yaml"
{ echo "project: sz"; echo "command: sz:fail"; echo "consumer_list:"; consumer failer "$FAIL" 0; } >"$TMP/cfg/commands/fail.yaml"
{ echo "project: sz"; echo "command: sz:retry"; echo "consumer_list:"; consumer retried "$RETRY" 3; } >"$TMP/cfg/commands/retry.yaml"

"$DMQ" demo-consumer --listen "127.0.0.1:$OK" >/dev/null 2>&1 &
pids+=("$!")
"$DMQ" demo-consumer --listen "127.0.0.1:$FAIL" --fail-rate 1 >/dev/null 2>&1 &
pids+=("$!")
"$DMQ" demo-consumer --listen "127.0.0.1:$RETRY" --fail-first 1 >/dev/null 2>&1 &
pids+=("$!")
"$DMQ" run "$TMP/cfg" 2>"$TMP/dmq.err" &
pids+=("$!")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$API/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$API/healthz" >/dev/null || die "dmq did not start: $(cat "$TMP/dmq.err")"

used() { "${R[@]}" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
# dicts: the bytes of db 0's main and expires dicts (MEMORY STATS: entries and bucket
# arrays). Their bucket arrays double at powers of two of the keys and are rehashed
# incrementally, so a phase that crosses one (waiting1 does, after ~500k keys) is charged
# tens of bytes a message more or less depending on how far the rehash got: the column
# without them (their entries, 24 bytes a key, and tables) is steadier, to compare the
# rest of what a message costs (its values, key names, sorted-set entries).
dicts() {
  python3 "$ROOT/bench/lib/redismem.py" info "$REDIS" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(sum(d.get(f"stats.db.0.overhead.hashtable.{k}", 0) for k in ("main", "expires")))'
}
zcard() { "${R[@]}" zcard "dmq:{sz}:$1"; }
# post CMD DELAY_MS: N messages in batches of 1000, each answered with an id.
post() {
  local cmd=$1 delay=$2 b
  for ((b = 0; b < N / 1000; b++)); do
    python3 - "$cmd" "$delay" "$b" "$PARAMS_BYTES" >"$TMP/batch.json" <<'PY'
import json, sys
cmd, delay, b, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
msgs = []
for i in range(1000):
    p = '{"order_id":%d,"note":"' % (b * 1000 + i)
    p += "x" * max(0, size - len(p) - 2) + '"}'
    msgs.append({"project": "sz", "cmd": cmd, "bucket": "o:%d" % (b * 1000 + i),
                 "params": p, "delay_ms": delay})
print(json.dumps(msgs))
PY
    curl -sf -XPOST "http://127.0.0.1:$API/api/message/batch" --data-binary "@$TMP/batch.json" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["code"]==0 and all(isinstance(x,int) for x in d["data"]) else 1)' ||
      die "a batch of $cmd was not stored"
  done
}
# wait_for WHAT TEST...: until the command succeeds, at most 300 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 3000); do "$@" && return 0; sleep 0.1; done
  die "timed out waiting for $what"
}
queue_empty() { [[ $(zcard "q:$1") == 0 ]]; }
pending_full() { [[ $(zcard "pending:$1") == "$N" ]]; }

results=()
RECORDS="$TMP/records.jsonl"
phase() { # case name before dicts_before
  local after dicts_after
  sleep 1 # let the dispatcher's last acks and reads settle
  after=$(used)
  dicts_after=$(dicts)
  local per without
  per=$(echo "($after - $3) / $N" | bc -l | sed 's/^\./0./')
  without=$(echo "($after - $3 - $dicts_after + $4) / $N" | bc -l | sed 's/^\./0./;s/^-\./-0./')
  results+=("$(printf '| %s | %d | %.0f | %.0f |' "$2" "$N" "$per" "$without")")
  printf '{"case":"%s","what":"%s","run":1,"messages":%d,"used_memory_delta":%d,"dicts_delta":%d,"bytes_per_msg":%s,"bytes_per_msg_without_dicts":%s}\n' \
    "$1" "$2" "$N" $((after - $3)) $((dicts_after - $4)) "$per" "$without" >>"$RECORDS"
}

echo "sizing: N=$N, params $PARAMS_BYTES bytes, redis :$REDIS ($(redis-server --version | awk '{print $3}'))" >&2
before=$(used)
dicts_before=$(dicts)
post sz:ok1 0
wait_for "deliveries to consumer one" queue_empty one
phase done "done (1 consumer, settled, kept 2 x msg_save_days)" "$before" "$dicts_before"

before=$(used)
dicts_before=$(dicts)
post sz:retry 0
wait_for "deliveries to consumer retried" queue_empty retried
phase retried "done after one retry (1 consumer, attempt history of 2 entries)" "$before" "$dicts_before"

before=$(used)
dicts_before=$(dicts)
post sz:fail 0
wait_for "failures of consumer failer" pending_full failer
wait_for "the failer queue to empty" queue_empty failer
phase failed "failed (1 consumer, in the pending list, attempt history of 1 entry)" "$before" "$dicts_before"

before=$(used)
dicts_before=$(dicts)
post sz:ok1 3600000
phase waiting1 "waiting (1 consumer)" "$before" "$dicts_before"

before=$(used)
dicts_before=$(dicts)
post sz:ok2 3600000
phase waiting2 "waiting (2 consumers)" "$before" "$dicts_before"

echo "| state | messages | bytes per message (used_memory delta / N) | without the main and expires dicts (entries, tables) |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
python3 - "$RECORDS" "$ROOT/bench/lib" "$N" "$PARAMS_BYTES" <<'PY'
import json, sys
recf, lib, n, pb = sys.argv[1:]
sys.path.insert(0, lib)
import result
recs = [json.loads(l) for l in open(recf)]
medians = result.by_case(recs, {"bytes_per_msg": "bytes_per_msg",
                                "bytes_per_msg_without_dicts": "bytes_per_msg_without_dicts"})
out = result.write("sizing", recs, medians, {"runs": 1, "n": int(n), "params_bytes": int(pb)},
                   title="Redis memory per message in each state (docs/operations.md)",
                   headline=[(r["case"], [r["case"], "bytes_per_msg"]) for r in recs])
print(f"SUMMARY {json.load(open(out))['summary']}")
print(f"RESULT {out}")
PY
