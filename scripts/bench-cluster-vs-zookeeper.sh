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
start_zk_ensemble "$work"
points "zookeeper-3.8 ensemble" "$zk_addrs"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
pids=()

# Corral cluster, static bootstrap.
declare -A cn cz cp
start_corral_cluster "$work" "$bin/corral"
points "corral cluster (zk)" "$corral_addrs"
