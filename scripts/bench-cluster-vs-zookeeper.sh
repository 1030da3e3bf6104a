#!/usr/bin/env bash
# Side by side on one machine: a 3-server Apache ZooKeeper 3.8 ensemble
# (Debian's package) and a 3-server Corral cluster, each driven by the same
# load generator over the ZooKeeper wire protocol (zookeeper-client crate),
# clients spread over the three servers. Prints one line per point.
# Usage: scripts/bench-cluster-vs-zookeeper.sh [seconds-per-point]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
seconds=${1:-5}
cargo build --quiet --release --bin corral --bin loadgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

points() {
  local label=$1 addrs=$2
  for workload in write read; do
    for clients in 1 16 64; do
      printf '%-24s ' "$label"
      "$bin/loadgen" --server "$addrs" --protocol zk --workload "$workload" \
        --clients "$clients" --seconds "$seconds"
    done
  done
}

# ZooKeeper ensemble: client, quorum and election ports per server.
declare -A zc zq ze
write_zk_ensemble_configs "$work"
for id in 1 2 3; do
  d="$work/zk$id"
  ZOO_LOG_DIR="$d" "$ZKSERVER" start-foreground "$d/zoo.cfg" >"$d/zookeeper.log" 2>&1 &
  pids+=($!)
done
for id in 1 2 3; do wait_for_port "${zc[$id]}" 60; done
# Serving once one server is the leader and the others follow.
for _ in $(seq 1 120); do
  modes=$(for id in 1 2 3; do (exec 3<>"/dev/tcp/127.0.0.1/${zc[$id]}" && echo srvr >&3 && cat <&3) 2>/dev/null | sed -n 's/^Mode: //p'; done | sort | tr '\n' ' ')
  if [ "$modes" = "follower follower leader " ]; then break; fi
  sleep 0.5
done
points "zookeeper-3.8 ensemble" "127.0.0.1:${zc[1]},127.0.0.1:${zc[2]},127.0.0.1:${zc[3]}"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
pids=()

# Corral cluster, static bootstrap.
declare -A cn cz
for id in 1 2 3; do cn[$id]=$(free_port); cz[$id]=$(free_port); cp[$id]=$(free_port); done
write_cluster_secret "$work/secret"
members=()
for id in 1 2 3; do members+=(--member "$id=127.0.0.1:${cp[$id]},client=127.0.0.1:${cn[$id]},zk=127.0.0.1:${cz[$id]}"); done
for id in 1 2 3; do
  "$bin/corral" serve --max-client-cnxns 0 --id "$id" --data-dir "$work/c$id" --listen "127.0.0.1:${cn[$id]}" --peer-listen "127.0.0.1:${cp[$id]}" --cluster-secret-file "$work/secret" \
    --zk-listen "127.0.0.1:${cz[$id]}" "${members[@]}" >"$work/c$id.out" 2>"$work/c$id.err" &
  pids+=($!)
done
for id in 1 2 3; do wait_for_line "$work/c$id.out" "listening: " 60 >/dev/null; done
wait_for_corral_leader "$bin/corral" 127.0.0.1:${cn[1]} 127.0.0.1:${cn[2]} 127.0.0.1:${cn[3]}
points "corral cluster (zk)" "127.0.0.1:${cz[1]},127.0.0.1:${cz[2]},127.0.0.1:${cz[3]}"
