#!/usr/bin/env bash
# Runs one script of commands through the real zkCli.sh (Debian's package)
# and through `corral shell`, both against one Corral server, and compares
# what they print. Times, zxids and session ids are masked; WATCHER blocks
# arrive asynchronously in both, so they are compared as a sorted list.
# Known, deliberate differences are left out of the script: `help` (another
# catalog), `version` (another program) and an unknown command (zkCli
# prints its whole usage and "Command not found: Command not found foo").
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
cargo build --quiet --bin corral
work=$(mktemp -d)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
corral="$target_dir/debug/corral"
"$corral" serve --data-dir "$work/data" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
trap 'kill "$corral_pid" 2>/dev/null; wait "$corral_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)
grpc=$(wait_for_line "$work/corral.out" "listening: " 60)

commands() {
  # $1: a prefix for every path, so the two runs do not meet.
  # `printwatches off` comes last and is never turned back on: both shells
  # print events on their own thread, so an event of a write made while
  # off could be printed after a later `printwatches on`.
  local p=$1
  cat <<CMDS
create $p
create $p/a "x y"
create -e $p/e eph
create -s $p/s- 1
create -c $p/c
create -t 10000 $p/t tt
ls $p
ls -s $p
ls -R $p
get $p
get -s $p/a
get -w $p
set $p 5
stat -w $p/a
set -s $p/a z
getAllChildrenNumber $p
getEphemerals $p
getAcl -s $p/a
setAcl -s $p/a world:anyone:cdrwa
sync $p
delete $p
delete -v 9 $p/a
get $p/nope
ls $p/nope
stat $p/nope
create $p/a
create nope
set $p/nope x
removewatches $p
get -w $p/a
removewatches $p/a -d
ls -w $p
removewatches $p -c
addWatch $p
create $p/w
set $p/w 1
removewatches $p
create $p/w2
addWatch -m PERSISTENT $p
set $p 7
set $p/w 2
printwatches
printwatches on
history
redo 5
ls
addauth digest bob:secret
whoami
create $p/q x
setquota -n 1 $p/q
setquota -B 4 $p/q
create $p/q/a yy
listquota $p/q
setquota -n 1 $p/q/a
setquota -b -1 $p/q
delquota -n $p/q
listquota $p/q
delquota $p/q
listquota $p/q
delquota $p/q
deleteall $p
close
ls /
connect CONNECT
get /
printwatches off
create $p
get -w $p
set $p w
delete $p
quit
CMDS
}

# normalize RUN-PREFIX < output: masks times, zxids, session ids, the
# path prefix and the connect string; drops blank lines and WATCHER::.
normalize() {
  sed -e 's/time = .*/time = T/' -e 's/Zxid = .*/Zxid = Z/' \
    -e 's/ephemeralOwner = 0x[1-9a-f][0-9a-f]*/ephemeralOwner = E/' \
    -e "s#$1#/P#g" | grep -v -e '^$' -e '^WATCHER::$'
}

commands /zk | sed "s#CONNECT#$zk#" >"$work/zk.cmds"
commands /corral | sed "s#CONNECT#$grpc#" >"$work/corral.cmds"
"$ZKCLI" -server "$zk" <"$work/zk.cmds" 2>&1 |
  grep -v -e '^20[0-9][0-9]-' -e '^\s*at ' -e 'log4j' -e 'SLF4J' -e '^Connecting to' \
    -e '^Welcome to ZooKeeper' -e '^JLine support' | normalize /zk >"$work/zk.out" || true
"$corral" --server "$grpc" shell <"$work/corral.cmds" 2>&1 | normalize /corral >"$work/corral.out" || true

status=0
for side in zk corral; do
  grep -v '^WatchedEvent' "$work/$side.out" >"$work/$side.lines" || true
  grep '^WatchedEvent' "$work/$side.out" | sort >"$work/$side.events" || true
done
if ! diff -u "$work/zk.lines" "$work/corral.lines"; then
  echo "the lines differ (- zkCli.sh, + corral shell)"
  status=1
fi
if ! diff -u "$work/zk.events" "$work/corral.events"; then
  echo "the WATCHER events differ (- zkCli.sh, + corral shell)"
  status=1
fi
if [ "$status" -eq 0 ]; then
  echo "corral shell prints what zkCli.sh prints: $(wc -l <"$work/corral.out") lines compared"
fi
exit "$status"
