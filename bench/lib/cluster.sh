# shellcheck shell=bash
# A private local Redis Cluster for the scenarios (sourced after lib/common.sh, whose temp
# dir, PIDS cleanup, free_port and wait_for it uses). See bench/README.md, "Redis Cluster".
#
#   start_redis_cluster [MASTERS]   MASTERS (default $MASTERS, 3) redis-server
#       --cluster-enabled yes on free loopback ports (each with its own --cluster-port, so a
#       port + 10000 taken by someone else does not matter), no persistence, no replicas
#       (throughput only: a replica would take CPU of the same 2 cores), joined with
#       `redis-cli --cluster create --cluster-replicas 0 --cluster-yes`; waits (bounded)
#       until every node says cluster_state:ok with all 16384 slots and knows every master.
#       Sets CLUSTER_PORTS, CLUSTER_PIDS (same order), CLUSTER_SEEDS ("[127.0.0.1:p1, ...]"),
#       CRCLI (redis-cli -c on the first node: follows MOVED).
#   cluster_master_of KEY           the port of the master serving KEY's slot
#   cluster_pid_of PORT             the pid of the node on PORT
#   cluster_flush                   FLUSHALL on every master, keeping dmq's id-node leases
#                                   (dmq:{global}:node:*, on the master of {global})
#   cluster_pick_projects K [PREFIX]  K project names (PREFIX0, PREFIX1, ... tried in order)
#                                   whose "dmq:{name}:" keys land on K distinct masters
#                                   (the first K masters by port if K <= masters); prints them
MASTERS=${MASTERS:-3}
CLUSTER_PORTS=() CLUSTER_PIDS=()

start_redis_cluster() {
  local masters=${1:-$MASTERS} i port bus dir addrs=()
  ((masters >= 3)) || die "a Redis Cluster needs at least 3 masters (MASTERS=$masters)"
  CLUSTER_PORTS=() CLUSTER_PIDS=()
  for ((i = 0; i < masters; i++)); do
    port=$(free_port)
    bus=$(free_port)
    dir="$TMP/cluster/$port"
    mkdir -p "$dir"
    redis-server --port "$port" --cluster-port "$bus" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 2000 --save "" --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
    CLUSTER_PIDS+=("$!")
    PIDS+=("$!")
    CLUSTER_PORTS+=("$port")
    addrs+=("127.0.0.1:$port")
  done
  for port in "${CLUSTER_PORTS[@]}"; do
    wait_for 10 redis-cli -p "$port" ping || die "cluster node :$port did not start (see $TMP/cluster/$port/redis.log)"
  done
  timeout 60 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes \
    >"$TMP/cluster/create.log" 2>&1 || die "redis-cli --cluster create failed: $(tail -n 5 "$TMP/cluster/create.log")"
  wait_for 30 cluster_ok "$masters" || die "the cluster did not become ok in 30 s: $(redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | head -n 3 | tr -d '\r' | tr '\n' ' ')"
  CLUSTER_SEEDS="[$(printf '127.0.0.1:%s, ' "${CLUSTER_PORTS[@]}" | sed 's/, $//')]"
  CRCLI=(redis-cli -c -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}")
}

# cluster_ok MASTERS: every node says cluster_state:ok, all slots, and sees MASTERS masters
cluster_ok() {
  local port info
  for port in "${CLUSTER_PORTS[@]}"; do
    info=$(redis-cli -p "$port" cluster info | tr -d '\r') || return 1
    grep -q '^cluster_state:ok$' <<<"$info" || return 1
    grep -q '^cluster_slots_assigned:16384$' <<<"$info" || return 1
    (($(redis-cli -p "$port" cluster nodes | grep -c master) == $1)) || return 1
  done
}

cluster_master_of() {
  local slot
  slot=$(redis-cli -p "${CLUSTER_PORTS[0]}" cluster keyslot "$1")
  # CLUSTER NODES: id ip:port@bus flags master ping pong epoch state slot-range...
  redis-cli -p "${CLUSTER_PORTS[0]}" cluster nodes | awk -v s="$slot" '$3 ~ /master/ {
    for (i = 9; i <= NF; i++) {
      n = split($i, r, "-"); lo = r[1]; hi = (n == 2 ? r[2] : r[1])
      if ($i !~ /^\[/ && s >= lo + 0 && s <= hi + 0) { split($2, a, "[:@]"); print a[2]; exit }
    }
  }'
}

cluster_pid_of() {
  local i
  for i in "${!CLUSTER_PORTS[@]}"; do
    [[ ${CLUSTER_PORTS[$i]} == "$1" ]] && { echo "${CLUSTER_PIDS[$i]}"; return; }
  done
  return 1
}

cluster_flush() {
  local port keep
  keep=$(cluster_master_of 'dmq:{global}:node:0')
  for port in "${CLUSTER_PORTS[@]}"; do
    if [[ $port == "$keep" ]]; then
      redis-cli -p "$port" eval "$FLUSH_LUA" 0 'dmq:{global}' >/dev/null
    else
      redis-cli -p "$port" flushall >/dev/null
    fi
  done
}

cluster_pick_projects() {
  local k=$1 prefix=${2:-p} i=0 name port picked=() seen=" "
  while ((${#picked[@]} < k && i < 1000)); do
    name="$prefix$i"
    port=$(cluster_master_of "dmq:{$name}:x")
    if [[ $seen != *" $port "* ]]; then
      picked+=("$name")
      seen+="$port "
    fi
    i=$((i + 1))
  done
  ((${#picked[@]} == k)) || die "found no $k project names on $k distinct masters"
  echo "${picked[@]}"
}
