#!/usr/bin/env bash
# Side by side on one machine: how long writes are unavailable after
# `kill -9` of the leader, in a 3-server Apache ZooKeeper 3.8 ensemble
# (Debian's package, default settings, tickTime=2000) and in a 3-server
# Corral cluster (default election and heartbeat settings), both measured by
# `zk_failover` over ZooKeeper's wire protocol. Each round finds the leader,
# runs `zk_failover` (one writer session attached to each server; it kills
# the leader and times each writer's first acknowledged setData), restarts
# the killed server on the same ports and data directory and waits until the
# ensemble serves with all three servers again. Prints every round and, per
# system, the median and max of survivors_ms and attached_ms.
# Usage: scripts/bench-failover-vs-zookeeper.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
rounds=${1:-5}
cargo build --quiet --release --bin corral --bin zk_failover
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"
work=$(mktemp -d)
# The running servers' pids, by system and id. They are disowned right after
# they start, so the shell prints no "Killed" line for the one killed each
# round; `alive` and `gone` watch them instead of `wait`.
declare -A zpid cpid
# alive PID: the process runs (a killed child not yet waited for is a zombie).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$state" ] && [ "${state:0:1}" != Z ]
}
# gone PID: waits (up to 30 s) until the process has exited.
gone() {
  for _ in $(seq 1 300); do
    if ! alive "$1"; then return 0; fi
    sleep 0.1
  done
  echo "process $1 still runs after 30 s" >&2
  return 1
}
stop() {
  kill "$1" 2>/dev/null || true
  gone "$1" || true
}
cleanup() {
  for id in 1 2 3; do
    if [ -n "${zpid[$id]:-}" ]; then stop "${zpid[$id]}"; fi
    if [ -n "${cpid[$id]:-}" ]; then stop "${cpid[$id]}"; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# run_round SYSTEM ROUND ADDRS LEADER_INDEX LEADER_PID: one zk_failover run;
# appends "round survivors_ms attached_ms" (or "round failed") to
# $work/SYSTEM.results.
run_round() {
  local system=$1 round=$2 addrs=$3 index=$4 leader_pid=$5 out
  if out=$("$bin/zk_failover" --servers "$addrs" --leader-index "$index" --leader-pid "$leader_pid" --json 2>"$work/zk_failover.err"); then
    echo "$system round $round: $out"
    echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sys.argv[1], r["survivors_ms"], r["attached_ms"])' "$round" \
      >>"$work/$system.results"
  else
    echo "$system round $round FAILED: $(cat "$work/zk_failover.err")"
    echo "$round failed" >>"$work/$system.results"
  fi
}

summary() {
  local system=$1
  python3 - "$system" "$work/$system.results" <<'PY'
import statistics, sys
system, path = sys.argv[1], sys.argv[2]
rows = [line.split() for line in open(path)]
ok = [(int(r[1]), int(r[2])) for r in rows if r[1] != "failed"]
failed = [r[0] for r in rows if r[1] == "failed"]
print(f"{system}: {len(ok)} rounds measured" + (f", rounds {' '.join(failed)} failed" if failed else ""))
for r in rows:
    print(f"  round {r[0]}: " + ("failed" if r[1] == "failed" else f"survivors_ms {r[1]}, attached_ms {r[2]}"))
if ok:
    for name, values in (("survivors_ms", [s for s, _ in ok]), ("attached_ms", [a for _, a in ok])):
        print(f"  {name}: median {statistics.median(values):g}, max {max(values)}")
PY
}

# ZooKeeper ensemble: client, quorum and election ports per server.
declare -A zc zq ze
write_zk_ensemble_configs "$work"
start_zk() {
  local id=$1 d="$work/zk$1"
  ZOO_LOG_DIR="$d" "$ZKSERVER" start-foreground "$d/zoo.cfg" >>"$d/zookeeper.log" 2>&1 &
  zpid[$id]=$!
  disown "$!"
}
zk_mode() {
  { (exec 3<>"/dev/tcp/127.0.0.1/${zc[$1]}" && echo srvr >&3 && cat <&3) 2>/dev/null || true; } | sed -n 's/^Mode: //p'
}
# Serving once one server is the leader and the other two follow.
wait_zk_serving() {
  local modes
  for _ in $(seq 1 240); do
    modes=$(for id in 1 2 3; do zk_mode "$id"; done | sort | tr '\n' ' ')
    if [ "$modes" = "follower follower leader " ]; then return 0; fi
    sleep 0.25
  done
  echo "the ZooKeeper ensemble did not serve with a leader and two followers within 60 s (modes: $modes)" >&2
  return 1
}
for id in 1 2 3; do start_zk "$id"; done
for id in 1 2 3; do wait_for_port "${zc[$id]}" 60; done
wait_zk_serving
zk_addrs="127.0.0.1:${zc[1]},127.0.0.1:${zc[2]},127.0.0.1:${zc[3]}"
for round in $(seq 1 "$rounds"); do
  leader=""
  for id in 1 2 3; do if [ "$(zk_mode "$id")" = leader ]; then leader=$id; fi; done
  if [ -z "$leader" ]; then echo "no ZooKeeper leader before round $round" >&2; exit 1; fi
  run_round zookeeper "$round" "$zk_addrs" $((leader - 1)) "${zpid[$leader]}"
  if ! alive "${zpid[$leader]}"; then
    gone "${zpid[$leader]}"
    start_zk "$leader"
    wait_for_port "${zc[$leader]}" 60
  fi
  wait_zk_serving
done
for id in 1 2 3; do stop "${zpid[$id]}"; unset "zpid[$id]"; done

# Corral cluster, static bootstrap, default election and heartbeat settings.
# `cons` is answered as well as the default `srvr` (ZooKeeper above answers
# every four-letter word): zk_failover checks with it which server each of
# its writer sessions is connected to.
declare -A cn cz
for id in 1 2 3; do cn[$id]=$(free_port); cz[$id]=$(free_port); cp[$id]=$(free_port); done
write_cluster_secret "$work/secret"
members=()
for id in 1 2 3; do members+=(--member "$id=127.0.0.1:${cp[$id]},client=127.0.0.1:${cn[$id]},zk=127.0.0.1:${cz[$id]}"); done
start_corral() {
  local id=$1
  "$bin/corral" serve --max-client-cnxns 0 --four-letter-words srvr,cons --id "$id" --data-dir "$work/c$id" \
    --listen "127.0.0.1:${cn[$id]}" --peer-listen "127.0.0.1:${cp[$id]}" --cluster-secret-file "$work/secret" --zk-listen "127.0.0.1:${cz[$id]}" "${members[@]}" \
    >"$work/c$id.out" 2>>"$work/c$id.err" &
  cpid[$id]=$!
  disown "$!"
  wait_for_line "$work/c$id.out" "listening: " 60 >/dev/null
}
corral_leader() {
  local id leader
  for id in 1 2 3; do
    leader=$("$bin/corral" --server "127.0.0.1:${cn[$id]}" admin status 2>/dev/null | sed -n 's/.*leader \([0-9]*\),.*/\1/p' || true)
    if [ -n "$leader" ]; then echo "$leader"; return 0; fi
  done
}
for id in 1 2 3; do start_corral "$id"; done
wait_for_corral_leader "$bin/corral" "127.0.0.1:${cn[1]}" "127.0.0.1:${cn[2]}" "127.0.0.1:${cn[3]}"
corral_addrs="127.0.0.1:${cz[1]},127.0.0.1:${cz[2]},127.0.0.1:${cz[3]}"
for round in $(seq 1 "$rounds"); do
  leader=$(corral_leader)
  if [ -z "$leader" ]; then echo "no Corral leader before round $round" >&2; exit 1; fi
  run_round corral "$round" "$corral_addrs" $((leader - 1)) "${cpid[$leader]}"
  if ! alive "${cpid[$leader]}"; then
    gone "${cpid[$leader]}"
    start_corral "$leader"
    wait_for_port "${cz[$leader]}" 60
  fi
  wait_for_corral_leader "$bin/corral" "127.0.0.1:${cn[1]}" "127.0.0.1:${cn[2]}" "127.0.0.1:${cn[3]}"
done

echo
summary zookeeper
summary corral
