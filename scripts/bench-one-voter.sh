#!/usr/bin/env bash
# The measurement behind issue 10's "one replication path": the same load
# generator against a standalone server (its own committer) and against a
# one-voter Raft cluster (the cluster code with a single member), one after
# the other on the same machine, ZooKeeper protocol and native gRPC, 1/16/64
# clients. Prints one line per point.
# Usage: scripts/bench-one-voter.sh [seconds-per-point]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
seconds=${1:-5}
cargo build --quiet --release --bin corral --bin loadgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"
work=$(mktemp -d)
cleanup() {
  if [ -n "${corral_pid:-}" ]; then kill "$corral_pid" 2>/dev/null || true; wait "$corral_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT


# run LABEL DIR EXTRA-FLAGS...: one server, both protocols, then stop it.
run() {
  local label=$1 dir=$2
  shift 2
  "$bin/corral" serve --max-client-cnxns 0 --data-dir "$dir" --zk-listen 127.0.0.1:0 "$@" \
    >"$dir.out" 2>"$dir.err" &
  corral_pid=$!
  local native zk
  native=$(wait_for_line "$dir.out" "listening: " 60)
  zk=$(wait_for_line "$dir.out" "zookeeper: " 60)
  bench_points "$label (zk protocol)" zk "$zk" "$seconds"
  bench_points "$label (native grpc)" native "$native" "$seconds"
  kill "$corral_pid"; wait "$corral_pid" 2>/dev/null || true; corral_pid=
}

run "standalone" "$work/standalone" --listen 127.0.0.1:0
port=$(free_port)
peer=$(free_port)
write_cluster_secret "$work/secret"
run "one-voter raft" "$work/raft" --listen "127.0.0.1:$port" --id 1 --peer-listen "127.0.0.1:$peer" \
  --cluster-secret-file "$work/secret" --member "1=127.0.0.1:$peer,client=127.0.0.1:$port"
