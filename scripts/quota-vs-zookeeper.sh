#!/usr/bin/env bash
# Runs one zkCli.sh script of quota operations against Apache ZooKeeper 3.8
# (Debian's package, with zookeeper.enforceQuota=true) and against Corral
# (--enforce-quota), and compares what zkCli prints: the creates and sets
# refused with "Quota has exceeded", and the stats nodes the servers keep
# (read with `get` after each step), nested quotas made by hand included.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
cargo build --quiet --bin corral
work=$(mktemp -d)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
corral="$target_dir/debug/corral"
SERVER_JVMFLAGS="-Dzookeeper.enforceQuota=true" start_reference_zookeeper "$work/zk"
"$corral" serve --data-dir "$work/corral" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  --enforce-quota >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
trap 'kill "$corral_pid" "$ZK_REF_PID" 2>/dev/null; wait "$corral_pid" "$ZK_REF_PID" 2>/dev/null || true; rm -rf "$work"' EXIT
corral_zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)

S=/zookeeper/quota/q/zookeeper_stats
cat >"$work/cmds" <<CMDS
create /q 12345
create /q/a xy
setquota -n 3 /q
get $S
setquota -B 12 /q
create /q/b abc
get $S
create /q/c
get $S
create /q/d abc
set /q/a xyzuvw
set /q/a xyzu
get $S
delete /q/b
get $S
create -e /q/e eph
get $S
setquota -N 4 /q
create /q/f
create /q/g
get $S
create /zookeeper/quota/q/c
create /zookeeper/quota/q/c/zookeeper_limits count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1
create /zookeeper/quota/q/c/zookeeper_stats count=0,bytes=0
get /zookeeper/quota/q/c/zookeeper_stats
create /q/c/x 1
get /zookeeper/quota/q/c/zookeeper_stats
get $S
set $S count=1;bytes=2,zz=9
create /q/c/y
set /q/a 1
get $S
delete /zookeeper/quota/q/c/zookeeper_limits
create /q/c/z 22
get /zookeeper/quota/q/c/zookeeper_stats
get $S
set /zookeeper/quota/q/zookeeper_limits count=x
create /q/h
get $S
delquota /q
ls /zookeeper/quota
quit
CMDS

clean() {
  grep -v -e '^20[0-9][0-9]-' -e '^\s*at ' -e 'log4j' -e 'SLF4J' -e '^Connecting to' \
    -e '^Welcome to ZooKeeper' -e '^JLine support' -e '^WATCHER::$' -e '^WatchedEvent' -e '^$'
}
"$ZKCLI" -server "127.0.0.1:$ZK_REF_PORT" <"$work/cmds" 2>&1 | clean >"$work/zk.lines" || true
"$ZKCLI" -server "$corral_zk" <"$work/cmds" 2>&1 | clean >"$work/corral.lines" || true
if diff -u "$work/zk.lines" "$work/corral.lines"; then
  echo "ZooKeeper 3.8 and Corral agree on every quota step: $(wc -l <"$work/corral.lines") lines compared"
else
  echo "the quota steps differ (- ZooKeeper 3.8, + Corral)"
  exit 1
fi
