#!/usr/bin/env bash
# Before/after on one machine: two `corral` binaries (for example one built
# from an older checkout into its own target folder) alternate, round after
# round, each on a fresh standalone server or 3-server cluster, driven by the
# same load generator over the ZooKeeper protocol. Prints one line per point,
# prefixed with `before` or `after`, ending with the servers' CPU time per
# operation (user + system, from /proc, all servers of the side summed): a
# cost measure far steadier than throughput on a shared machine.
# Usage: scripts/bench-before-after.sh BEFORE_BIN AFTER_BIN [standalone|cluster] [rounds] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
before=$1 after=$2 shape=${3:-standalone} rounds=${4:-5} seconds=${5:-5}
cargo build --quiet --release --bin loadgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
loadgen="$target_dir/release/loadgen"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start SIDE BIN: starts a standalone server or a cluster; sets $addrs.
start() {
  local bin=$2 dir="$work/$1-$RANDOM"
  if [ "$shape" = standalone ]; then
    "$bin" serve --max-client-cnxns 0 --data-dir "$dir" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
      >"$dir.out" 2>/dev/null &
    pids+=($!)
    addrs=$(wait_for_line "$dir.out" "zookeeper: " 60)
    return
  fi
  local -A cn cz cp
  local members=() id
  for id in 1 2 3; do cn[$id]=$(free_port); cz[$id]=$(free_port); cp[$id]=$(free_port); done
  write_cluster_secret "$work/secret"
  for id in 1 2 3; do members+=(--member "$id=127.0.0.1:${cp[$id]},client=127.0.0.1:${cn[$id]},zk=127.0.0.1:${cz[$id]}"); done
  for id in 1 2 3; do
    "$bin" serve --max-client-cnxns 0 --id "$id" --data-dir "$dir-$id" --listen "127.0.0.1:${cn[$id]}" --peer-listen "127.0.0.1:${cp[$id]}" --cluster-secret-file "$work/secret" \
      --zk-listen "127.0.0.1:${cz[$id]}" "${members[@]}" >"$dir-$id.out" 2>/dev/null &
    pids+=($!)
  done
  for id in 1 2 3; do wait_for_line "$dir-$id.out" "listening: " 60 >/dev/null; done
  wait_for_corral_leader "$bin" "127.0.0.1:${cn[1]}" "127.0.0.1:${cn[2]}" "127.0.0.1:${cn[3]}"
  addrs="127.0.0.1:${cz[1]},127.0.0.1:${cz[2]},127.0.0.1:${cz[3]}"
}

# cpu_ticks: user + system clock ticks of every running server.
cpu_ticks() {
  local p total=0
  for p in "${pids[@]}"; do
    if [ -r "/proc/$p/stat" ]; then
      total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    fi
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}

for round in $(seq 1 "$rounds"); do
  for side in before after; do
    if [ "$side" = before ]; then start before "$before"; else start after "$after"; fi
    for point in "write 1" "write 16" "write 64" "read 16" "read 64"; do
      set -- $point
      printf '%-6s round %s ' "$side" "$round"
      t0=$(cpu_ticks)
      out=$("$loadgen" --server "$addrs" --protocol zk --workload "$1" --clients "$2" --seconds "$seconds")
      t1=$(cpu_ticks)
      ops=$(sed -E 's/.*: ([0-9]+) ops\/s.*/\1/' <<<"$out")
      printf '%s  cpu %s us/op\n' "$out" \
        "$(python3 -c "print(f'{($t1-$t0)/$hz*1e6/max(1,$ops*$seconds):.1f}')")"
    done
    stop
  done
done
