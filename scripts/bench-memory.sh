#!/usr/bin/env bash
# Memory per znode: creates N znodes with 100-byte values (the loadgen's
# prepare step, over ZooKeeper's protocol) in Apache ZooKeeper 3.8 and in
# Corral, and reports the growth of each server's resident set (VmRSS) and, for
# ZooKeeper, also its live Java heap after a full GC (jcmd GC.heap_info), which
# flatters ZooKeeper (it leaves out the JVM's own overhead).
# Usage: scripts/bench-memory.sh [znodes]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
n=${1:-100000}
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
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
java_pid_of() { pgrep -f "zoo.cfg" | head -n1; }
heap_used_kb() {
  jcmd "$1" GC.run >/dev/null 2>&1 || true
  jcmd "$1" GC.heap_info 2>/dev/null | awk '/used/ {for (i=1;i<=NF;i++) if ($i=="used") {v=$(i+1); sub("K","",v); print v; exit}}'
}
load() { "$bin/loadgen" --server "$1" --protocol zk --keys "$n" --clients 1 --seconds 1 --workload read >/dev/null; }

start_reference_zookeeper "$work/zk"
zk_java=$(java_pid_of)
before=$(heap_used_kb "$zk_java")
rss_before=$(rss_kb "$zk_java")
load "127.0.0.1:$ZK_REF_PORT"
after=$(heap_used_kb "$zk_java")
rss_after=$(rss_kb "$zk_java")
echo "zookeeper-3.8: $n znodes, live heap +$(( (after - before) ))KiB = $(( (after - before) * 1024 / n )) bytes/znode"
echo "zookeeper-3.8: $n znodes, resident +$(( rss_after - rss_before ))KiB = $(( (rss_after - rss_before) * 1024 / n )) bytes/znode"
kill "$ZK_REF_PID"; wait "$ZK_REF_PID" 2>/dev/null || true; ZK_REF_PID=

"$bin/corral" serve --max-client-cnxns 0 --data-dir "$work/corral" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)
before=$(rss_kb "$corral_pid")
load "$zk"
after=$(rss_kb "$corral_pid")
echo "corral: $n znodes, resident +$(( after - before ))KiB = $(( (after - before) * 1024 / n )) bytes/znode"
