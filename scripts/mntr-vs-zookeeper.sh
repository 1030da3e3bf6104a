#!/usr/bin/env bash
# mntr, key by key, against a real Apache ZooKeeper 3.8 ensemble (Debian's
# package): a 3-server ZooKeeper ensemble and a 3-member Corral cluster, each
# on free loopback ports; `mntr` from the leader and one follower of each.
# Checks that
#   (a) every key Corral prints, ZooKeeper prints for the same role
#       (Corral invents no key names),
#   (b) the keys monitoring tools rely on are printed by both, for each role,
#   (c) their values have ZooKeeper's shape (integer, decimal, or the
#       state word).
# Prints the keys that differ and exits non-zero on any failure.
# CORRAL_BIN=path runs that corral binary instead of building the debug one.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
if [ -z "${CORRAL_BIN:-}" ]; then
  cargo build --quiet --bin corral
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  CORRAL_BIN="$target_dir/debug/corral"
fi
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# four_letter PORT WORD: ZooKeeper's answer to WORD on 127.0.0.1:PORT
# (empty if nothing answers).
four_letter() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf '%s' "$2" >&3 && timeout 10 cat <&3) 2>/dev/null || true
}

# wait_for_modes LABEL SECONDS PORT...: polls `srvr` on each port until one
# is the leader and the others follow; sets LEADER_PORT and FOLLOWER_PORT.
wait_for_modes() {
  local label=$1 seconds=$2 deadline=$((SECONDS + $2)) port mode modes
  shift 2
  while :; do
    modes=()
    LEADER_PORT="" FOLLOWER_PORT=""
    for port in "$@"; do
      mode=$(four_letter "$port" srvr | sed -n 's/^Mode: //p')
      modes+=("${mode:-none}")
      case $mode in
        leader) LEADER_PORT=$port ;;
        follower) FOLLOWER_PORT=${FOLLOWER_PORT:-$port} ;;
      esac
    done
    if [ "$(printf '%s\n' "${modes[@]}" | sort | tr '\n' ' ')" = "follower follower leader " ]; then
      return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "$label: no leader with two followers within $seconds s (modes: ${modes[*]})" >&2
      return 1
    fi
    sleep 0.5
  done
}

# ZooKeeper ensemble.
declare -A zc zq ze
write_zk_ensemble_configs "$work"
for id in 1 2 3; do
  d="$work/zk$id"
  ZOO_LOG_DIR="$d" "$ZKSERVER" start-foreground "$d/zoo.cfg" >"$d/zookeeper.log" 2>&1 &
  pids+=($!)
done
for id in 1 2 3; do wait_for_port "${zc[$id]}" 60; done

# Corral cluster, static bootstrap, every four-letter word answered.
declare -A cn cz
for id in 1 2 3; do cn[$id]=$(free_port); cz[$id]=$(free_port); cp[$id]=$(free_port); done
write_cluster_secret "$work/secret"
members=()
for id in 1 2 3; do members+=(--member "$id=127.0.0.1:${cp[$id]},client=127.0.0.1:${cn[$id]},zk=127.0.0.1:${cz[$id]}"); done
for id in 1 2 3; do
  "$CORRAL_BIN" serve --id "$id" --data-dir "$work/c$id" --listen "127.0.0.1:${cn[$id]}" --peer-listen "127.0.0.1:${cp[$id]}" --cluster-secret-file "$work/secret" \
    --zk-listen "127.0.0.1:${cz[$id]}" --four-letter-words '*' "${members[@]}" \
    >"$work/c$id.out" 2>"$work/c$id.err" &
  pids+=($!)
done
for id in 1 2 3; do wait_for_line "$work/c$id.out" "listening: " 60 >/dev/null; done

wait_for_modes zookeeper 90 "${zc[1]}" "${zc[2]}" "${zc[3]}"
four_letter "$LEADER_PORT" mntr >"$work/zk-leader.mntr"
four_letter "$FOLLOWER_PORT" mntr >"$work/zk-follower.mntr"
wait_for_modes corral 60 "${cz[1]}" "${cz[2]}" "${cz[3]}"
four_letter "$LEADER_PORT" mntr >"$work/corral-leader.mntr"
four_letter "$FOLLOWER_PORT" mntr >"$work/corral-follower.mntr"

python3 - "$work" <<'PY'
import re
import sys

work = sys.argv[1]
EVERY_ROLE = """zk_server_state zk_avg_latency zk_max_latency zk_min_latency
zk_packets_received zk_packets_sent zk_num_alive_connections
zk_outstanding_requests zk_znode_count zk_watch_count zk_ephemerals_count
zk_approximate_data_size zk_open_file_descriptor_count""".split()
# ZooKeeper 3.4's leader printed zk_followers; 3.6 renamed it zk_learners,
# which is what 3.8 prints (and no zk_followers).
LEADER_ONLY = "zk_learners zk_synced_followers zk_pending_syncs".split()


def read(name):
    values = {}
    with open(f"{work}/{name}.mntr") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            key, _, value = line.partition("\t")
            values[key] = value
    return values


def shape(key, value):
    if key == "zk_server_state":
        return f"state {value}"
    if re.fullmatch(r"-?[0-9]+", value):
        return "integer"
    if re.fullmatch(r"-?[0-9]+\.[0-9]+([eE]-?[0-9]+)?", value):
        return "decimal"
    return "text"


failures = []
for role in ("leader", "follower"):
    zk, corral = read(f"zk-{role}"), read(f"corral-{role}")
    if not zk:
        failures.append(f"{role}: ZooKeeper's mntr was empty")
        continue
    if not corral:
        failures.append(f"{role}: Corral's mntr was empty")
        continue
    invented = sorted(set(corral) - set(zk))
    for key in invented:
        failures.append(f"{role}: (a) Corral prints {key}, ZooKeeper 3.8 does not")
    required = EVERY_ROLE + (LEADER_ONLY if role == "leader" else [])
    for key in required:
        where = [who for who, m in (("ZooKeeper", zk), ("Corral", corral)) if key not in m]
        if where:
            failures.append(f"{role}: (b) {key} missing from {' and '.join(where)}")
    for key in sorted(set(corral) & set(zk)):
        want, got = shape(key, zk[key]), shape(key, corral[key])
        if want != got:
            failures.append(
                f"{role}: (c) {key}: ZooKeeper {zk[key]!r} ({want}), Corral {corral[key]!r} ({got})"
            )
    if shape("zk_server_state", corral.get("zk_server_state", "")) != f"state {role}":
        failures.append(f"{role}: (c) Corral's zk_server_state is {corral.get('zk_server_state')!r}")
    print(
        f"{role}: ZooKeeper {len(zk)} keys, Corral {len(corral)} keys, "
        f"{len(set(zk) & set(corral))} shared; ZooKeeper-only keys: {len(set(zk) - set(corral))}"
    )

if failures:
    print("\nmntr differs from ZooKeeper 3.8:")
    for failure in failures:
        print("  " + failure)
    sys.exit(1)
print("mntr: every Corral key is ZooKeeper's, the required keys are in both, shapes match")
PY
