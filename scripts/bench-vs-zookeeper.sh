#!/usr/bin/env bash
# Side-by-side: the same load generator (ZooKeeper wire protocol, through the
# zookeeper-client crate) against Apache ZooKeeper 3.8 (Debian's package,
# standalone) and against Corral's ZooKeeper port, one server at a time on the
# same machine; plus Corral's native gRPC API. Prints one line per point.
# Usage: scripts/bench-vs-zookeeper.sh [seconds-per-point]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
seconds=${1:-5}
cargo build --quiet --release --bin corral --bin loadgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"
work=$(mktemp -d)
cleanup() {
  if [ -n "${ZK_REF_PID:-}" ]; then kill "$ZK_REF_PID" 2>/dev/null || true; wait "$ZK_REF_PID" 2>/dev/null || true; fi
  if [ -n "${corral_pid:-}" ]; then kill "$corral_pid" 2>/dev/null || true; wait "$corral_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT


start_reference_zookeeper "$work/zk"
bench_points "zookeeper-3.8" zk "127.0.0.1:$ZK_REF_PORT" "$seconds"
kill "$ZK_REF_PID"; wait "$ZK_REF_PID" 2>/dev/null || true; ZK_REF_PID=

"$bin/corral" serve --max-client-cnxns 0 --data-dir "$work/corral" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
native=$(wait_for_line "$work/corral.out" "listening: " 60)
zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)
bench_points "corral (zk protocol)" zk "$zk" "$seconds"
bench_points "corral (native grpc)" native "$native" "$seconds"
