#!/usr/bin/env bash
# CPU cost per operation, counted in instructions: two `corral` binaries
# (for example one built from an older checkout) each serve the same load
# from the same load generator while running under valgrind's callgrind,
# which counts the instructions the server executes (all threads) between
# the start and the end of each load. Instruction counts do not depend on
# what else the machine runs, so small costs (a few percent) show where
# throughput on a shared machine cannot resolve them.
# Prints instructions per operation for each binary and workload, and the
# share of them spent in metrics code (the metrics crates, the exporter, the
# request-latency histograms), from callgrind's per-function self cost.
# Installs valgrind with apt when it is missing.
# Usage: scripts/bench-instructions.sh BEFORE_BIN AFTER_BIN [rounds] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
before=$1 after=$2 rounds=${3:-2} seconds=${4:-5}
command -v valgrind >/dev/null || apt_install valgrind
cargo build --quiet --release --bin loadgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
loadgen="$target_dir/release/loadgen"
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# metrics_share: reads callgrind_annotate's function list on stdin, prints
# the percentage of all instructions whose function lives in metrics code.
metrics_share() {
  python3 -c '
import re, sys
total = metrics = 0
code = re.compile(r"metrics-0\.|metrics-util|metrics-exporter-prometheus|metrics-process|service/latency\.rs|admin/metrics\.rs")
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", line)
    if not m:
        continue
    n, name = int(m.group(1).replace(",", "")), m.group(2)
    if "PROGRAM TOTALS" in name:
        total = n
    elif code.search(name.split(":")[0]):
        metrics += n
print(f"{100 * metrics / total:.2f}%" if total else "?")
'
}

# point SIDE BIN WORKLOAD CLIENTS: one fresh server under callgrind, one load.
point() {
  local side=$1 bin=$2 workload=$3 clients=$4 dir="$work/$1-$RANDOM"
  mkdir -p "$dir"
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg" "$bin" serve --max-client-cnxns 0 \
    --data-dir "$dir/data" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
  pid=$!
  local zk
  zk=$(wait_for_line "$dir/out" "zookeeper: " 120)
  wait_for_line "$dir/out" "listening: " 120 >/dev/null
  callgrind_control -z "$pid" >/dev/null
  local out ops
  out=$("$loadgen" --server "$zk" --protocol zk --workload "$workload" --clients "$clients" --seconds "$seconds")
  callgrind_control -d "$pid" >/dev/null
  ops=$(sed -E 's/.*: ([0-9]+) ops\/s.*/\1/' <<<"$out")
  local total share
  total=$(cat "$dir"/cg.* 2>/dev/null | sed -n 's/^summary: //p' | tail -1)
  share=$(callgrind_annotate --threshold=100 --auto=no "$dir"/cg.* 2>/dev/null | metrics_share)
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  printf '%-6s %-5s clients=%-3s ops=%-7s instructions=%-12s per_op=%-7s metrics=%s\n' "$side" "$workload" \
    "$clients" "$((ops * seconds))" "$total" "$(python3 -c "print(round($total/max(1,$ops*$seconds)))")" "$share"
}

for round in $(seq 1 "$rounds"); do
  for load in "read 16" "write 16" "write 1"; do
    set -- $load
    point before "$before" "$1" "$2"
    point after "$after" "$1" "$2"
  done
done
