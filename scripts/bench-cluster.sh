#!/usr/bin/env bash
# A 3-server Corral cluster on loopback (separate processes, static
# bootstrap with --member), measured with the native load generator:
# writes/s and reads/s at 1, 16 and 64 clients spread over the servers, then
# the time from SIGKILL of the leader to the first acknowledged write.
# Usage: scripts/bench-cluster.sh [seconds-per-point] [failover-rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
seconds=${1:-5}
rounds=${2:-3}
cargo build --quiet --release --bin corral --bin loadgen --bin failover
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"
work=$(mktemp -d)
declare -A pid port
cleanup() {
  for id in 1 2 3; do
    if [ -n "${pid[$id]:-}" ]; then kill "${pid[$id]}" 2>/dev/null || true; wait "${pid[$id]}" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
for id in 1 2 3; do port[$id]=$(free_port); peer[$id]=$(free_port); done
write_cluster_secret "$work/secret"
members=()
for id in 1 2 3; do members+=(--member "$id=127.0.0.1:${peer[$id]},client=127.0.0.1:${port[$id]}"); done
start() {
  local id=$1
  "$bin/corral" serve --max-client-cnxns 0 --id "$id" --data-dir "$work/s$id" --listen "127.0.0.1:${port[$id]}" \
    --peer-listen "127.0.0.1:${peer[$id]}" --cluster-secret-file "$work/secret" --no-zk "${members[@]}" >"$work/s$id.out" 2>"$work/s$id.err" &
  pid[$id]=$!
  wait_for_line "$work/s$id.out" "listening: " 60 >/dev/null
}
for id in 1 2 3; do start "$id"; done
servers="127.0.0.1:${port[1]},127.0.0.1:${port[2]},127.0.0.1:${port[3]}"
wait_for_corral_leader "$bin/corral" 127.0.0.1:${port[1]} 127.0.0.1:${port[2]} 127.0.0.1:${port[3]}
for workload in write read; do
  for clients in 1 16 64; do
    printf '%-22s ' "corral 3-server"
    "$bin/loadgen" --server "$servers" --workload "$workload" --clients "$clients" --seconds "$seconds"
  done
done
for round in $(seq 1 "$rounds"); do
  out=$("$bin/failover" --servers "1=127.0.0.1:${port[1]},2=127.0.0.1:${port[2]},3=127.0.0.1:${port[3]}" \
    --pids "1=${pid[1]},2=${pid[2]},3=${pid[3]}")
  echo "failover round $round: $out"
  killed=$(echo "$out" | sed -n 's/killed leader \([0-9]*\):.*/\1/p')
  wait "${pid[$killed]}" 2>/dev/null || true
  start "$killed"
done
