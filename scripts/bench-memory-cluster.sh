#!/usr/bin/env bash
# Memory of a 3-server cluster member, side by side with a 3-server Apache
# ZooKeeper 3.8 ensemble on the same machine: loads N znodes with 100-byte
# values through one server of each (the same load
# generator over ZooKeeper's protocol), then writes VOLUME_MIB of 512 KiB values
# over 16 keys, and prints every server's resident set (VmRSS) after each
# phase and its growth per znode. Corral runs with its defaults
# (log_retained_bytes 256 MiB, snapshot_every 100,000) and the given
# log_cache_bytes (default: Corral's); ZooKeeper with the package's JVM
# defaults.
# Usage: scripts/bench-memory-cluster.sh [znodes] [volume-mib] [log-cache-bytes]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
n=${1:-1000000}
volume_mib=${2:-1024}
cache=()
if [ -n "${3:-}" ]; then cache=(--log-cache-bytes "$3"); fi
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
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# Prints "LABEL PHASE rss_kib=A,B,C max_kib=M per_znode_b=P" for server pids.
report() {
  local label=$1 phase=$2 max=0 list="" kb
  shift 2
  for p in "$@"; do
    kb=$(rss_kb "$p"); list="$list${list:+,}$kb"
    if [ "$kb" -gt "$max" ]; then max=$kb; fi
  done
  echo "$label $phase rss_kib=$list max_kib=$max per_znode_b=$(( max * 1024 / n ))"
}

# load ADDRS: the znodes, then the write volume (512 KiB values, 16 keys).
load() {
  "$bin/loadgen" --server "$1" --protocol zk --keys "$n" --clients 1 --seconds 1 --workload read >/dev/null
}
write_volume() {
  local writes=$(( volume_mib * 2 )) written=0 line ops
  while [ "$written" -lt "$writes" ]; do
    line=$("$bin/loadgen" --server "$1" --protocol zk --keys 16 --value-bytes 524288 --clients 4 --seconds 2 --workload write --json)
    ops=$(echo "$line" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["ops"]))')
    written=$(( written + ops ))
  done
  echo "$written"
}

# ZooKeeper ensemble.
declare -A zc zq ze
start_zk_ensemble "$work"
zk_java=()
for id in 1 2 3; do zk_java+=("$(pgrep -f "$work/zk$id/zoo.cfg" | tail -n1)"); done
report "zookeeper-3.8" "empty" "${zk_java[@]}"
load "$zk_addrs"
report "zookeeper-3.8" "znodes=$n" "${zk_java[@]}"
w=$(write_volume "$zk_addrs")
report "zookeeper-3.8" "after_512KiB_writes=$w" "${zk_java[@]}"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
pids=()

# Corral cluster.
declare -A cn cz cp
start_corral_cluster "$work" "$bin/corral" --admin-listen 127.0.0.1:0 "${cache[@]}"
report "corral" "empty" "${pids[@]}"
load "$corral_addrs"
report "corral" "znodes=$n" "${pids[@]}"
w=$(write_volume "$corral_addrs")
report "corral" "after_512KiB_writes=$w" "${pids[@]}"
