#!/usr/bin/env bash
# Drives the real ZooKeeper command line (zkCli.sh from Debian's package)
# against a Corral server and checks what it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
cargo build --quiet --bin corral
work=$(mktemp -d)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
"$target_dir/debug/corral" serve --data-dir "$work/data" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  --four-letter-words '*' >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
trap 'kill "$corral_pid" 2>/dev/null; wait "$corral_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)

cat >"$work/commands" <<'CMDS'
create /app data
create -e -s /app/worker- w
ls /app
get -w /app
set /app data2
stat /app
addauth digest bob:secret
create /secure s auth::cdrwa
getAcl /secure
create /open o
setAcl /open world:anyone:r
getAcl /open
create -t 60000 /ttlnode t
create -c /cont c
delete /app/worker-0000000000
deleteall /app
ls /
quit
CMDS
"$ZKCLI" -server "$zk" <"$work/commands" >"$work/zkcli.out" 2>&1 || true

failures=0
expect() {
  if grep -qF -- "$1" "$work/zkcli.out"; then
    echo "ok      $1"
  else
    echo "MISSING $1"
    failures=$((failures + 1))
  fi
}
expect "Created /app"
expect "Created /app/worker-0000000000"
expect "[worker-0000000000]"
expect "WatchedEvent state:SyncConnected type:NodeDataChanged path:/app"
expect "dataVersion = 1"
expect "numChildren = 1"
expect "'digest,'bob:fyVmFCwVbTJYrznoSu1koqYEYF0="
expect ": cdrwa"
expect "'world,'anyone"
expect ": r"
expect "Created /ttlnode"
expect "Created /cont"
expect "[cont, open, secure, ttlnode, zookeeper]"
if [ "$failures" -ne 0 ]; then
  echo "zkCli output:"
  cat "$work/zkcli.out"
  exit 1
fi
echo "zkCli.sh against Corral: all checks passed"
