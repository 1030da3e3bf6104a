# Helpers shared by the scripts: free ports, waiting, a reference ZooKeeper.
# Source it; it changes nothing by itself, except that every corral server
# the script starts puts its admin listener on a free port (the default
# 127.0.0.1:8181 would collide between servers).
export CORRAL_ADMIN_LISTEN=127.0.0.1:0

# write_cluster_secret FILE: a fresh random cluster secret (what every member
# of one cluster reads with --cluster-secret-file), readable by the owner only.
write_cluster_secret() {
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT SECONDS: poll until something listens on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "nothing listened on port $port within $2 s" >&2
      return 1
    fi
    sleep 0.2
  done
}

# wait_for_line FILE PREFIX SECONDS: print the rest of the first line of FILE
# starting with PREFIX, once it appears.
wait_for_line() {
  local file=$1 prefix=$2 deadline=$((SECONDS + $3))
  until grep -q "^$prefix" "$file" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "no '$prefix' line in $file within $3 s" >&2
      return 1
    fi
    sleep 0.2
  done
  grep -m1 "^$prefix" "$file" | sed "s/^$prefix//"
}

# bench_points LABEL PROTOCOL ADDR SECONDS: the load generator's write and
# read workloads at 1, 16 and 64 clients against ADDR, a line per point
# (needs $bin, the release binaries' folder).
bench_points() {
  local label=$1 protocol=$2 addr=$3 seconds=$4
  for workload in write read; do
    for clients in 1 16 64; do
      printf '%-28s ' "$label"
      "$bin/loadgen" --server "$addr" --protocol "$protocol" --workload "$workload" \
        --clients "$clients" --seconds "$seconds"
    done
  done
}

ZKCLI=/usr/share/zookeeper/bin/zkCli.sh
ZKSERVER=/usr/share/zookeeper/bin/zkServer.sh

# apt_install [APT-GET FLAGS] PACKAGE...: installs Debian packages, updating
# the package lists first only if the plain install fails.
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null; }
}

ensure_zookeeper() {
  if [ ! -x "$ZKCLI" ]; then
    echo "installing Debian's zookeeper package" >&2
    apt_install zookeeper
  fi
}

# start_reference_zookeeper DIR: starts Apache ZooKeeper (Debian's package)
# standalone on a free loopback port with its data in DIR; sets ZK_REF_PORT
# and ZK_REF_PID.
start_reference_zookeeper() {
  local dir=$1
  mkdir -p "$dir/data"
  ZK_REF_PORT=$(free_port)
  cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$dir/data
clientPort=$ZK_REF_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
extendedTypesEnabled=true
CFG
  ZOO_LOG_DIR="$dir" "$ZKSERVER" start-foreground "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
  ZK_REF_PID=$!
  wait_for_port "$ZK_REF_PORT" 60
}

# write_zk_ensemble_configs WORK: picks free client, quorum and election ports
# for a 3-server ZooKeeper ensemble (into the caller's associative arrays zc,
# zq and ze, declared with `declare -A zc zq ze` before the call) and writes
# WORK/zkN/zoo.cfg and WORK/zkN/data/myid for N = 1..3 (tickTime=2000, the
# package defaults otherwise).
write_zk_ensemble_configs() {
  local work=$1 id j d
  for id in 1 2 3; do zc[$id]=$(free_port); zq[$id]=$(free_port); ze[$id]=$(free_port); done
  for id in 1 2 3; do
    d="$work/zk$id"; mkdir -p "$d/data"; echo "$id" >"$d/data/myid"
    {
      echo "tickTime=2000"; echo "initLimit=10"; echo "syncLimit=5"
      echo "dataDir=$d/data"; echo "clientPort=${zc[$id]}"; echo "clientPortAddress=127.0.0.1"
      echo "admin.enableServer=false"; echo "4lw.commands.whitelist=*"
      for j in 1 2 3; do echo "server.$j=127.0.0.1:${zq[$j]}:${ze[$j]}"; done
    } >"$d/zoo.cfg"
  done
}

# wait_for_corral_leader CORRAL ADDR...: waits (up to 50 s) until every
# listed Corral server names the same leader, twice in a row.
wait_for_corral_leader() {
  local corral=$1 agreed=0 leaders
  shift
  for _ in $(seq 1 200); do
    leaders=$(for addr in "$@"; do
      "$corral" --server "$addr" admin status 2>/dev/null | sed -n 's/.*leader \([0-9]*\),.*/\1/p'
    done)
    if [ "$(echo "$leaders" | grep -c .)" = "$#" ] && [ "$(echo "$leaders" | sort -u | wc -l)" = 1 ]; then
      agreed=$((agreed + 1))
    else
      agreed=0
    fi
    if [ "$agreed" -ge 2 ]; then return 0; fi
    sleep 0.25
  done
  echo "the servers did not agree on a leader within 50 s" >&2
  return 1
}

# start_zk_ensemble WORK: writes the configs of a 3-server ZooKeeper ensemble
# (write_zk_ensemble_configs; declare -A zc zq ze first), starts it, appends
# the servers' pids to the caller's `pids` array and waits until one server
# leads and the others follow. Sets zk_addrs to its connect string.
start_zk_ensemble() {
  local work=$1 id d modes
  write_zk_ensemble_configs "$work"
  for id in 1 2 3; do
    d="$work/zk$id"
    ZOO_LOG_DIR="$d" "$ZKSERVER" start-foreground "$d/zoo.cfg" >"$d/zookeeper.log" 2>&1 &
    pids+=($!)
  done
  for id in 1 2 3; do wait_for_port "${zc[$id]}" 60; done
  for _ in $(seq 1 120); do
    modes=$(for id in 1 2 3; do (exec 3<>"/dev/tcp/127.0.0.1/${zc[$id]}" && echo srvr >&3 && cat <&3) 2>/dev/null | sed -n 's/^Mode: //p'; done | sort | tr '\n' ' ')
    if [ "$modes" = "follower follower leader " ]; then break; fi
    sleep 0.5
  done
  zk_addrs="127.0.0.1:${zc[1]},127.0.0.1:${zc[2]},127.0.0.1:${zc[3]}"
}

# start_corral_cluster WORK CORRAL [FLAG...]: a 3-server Corral cluster on
# free loopback ports (declare -A cn cz cp first: native, ZooKeeper and peer
# ports), static bootstrap with a cluster secret, each server given the
# extra FLAGs; appends the pids to `pids`, waits until all agree on a
# leader, and sets corral_addrs to the ZooKeeper connect string.
start_corral_cluster() {
  local work=$1 corral=$2 id
  shift 2
  for id in 1 2 3; do cn[$id]=$(free_port); cz[$id]=$(free_port); cp[$id]=$(free_port); done
  write_cluster_secret "$work/secret"
  local members=()
  for id in 1 2 3; do members+=(--member "$id=127.0.0.1:${cp[$id]},client=127.0.0.1:${cn[$id]},zk=127.0.0.1:${cz[$id]}"); done
  for id in 1 2 3; do
    "$corral" serve --max-client-cnxns 0 --id "$id" --data-dir "$work/c$id" --listen "127.0.0.1:${cn[$id]}" \
      --peer-listen "127.0.0.1:${cp[$id]}" --cluster-secret-file "$work/secret" \
      --zk-listen "127.0.0.1:${cz[$id]}" "$@" "${members[@]}" >"$work/c$id.out" 2>"$work/c$id.err" &
    pids+=($!)
  done
  for id in 1 2 3; do wait_for_line "$work/c$id.out" "listening: " 60 >/dev/null; done
  wait_for_corral_leader "$corral" "127.0.0.1:${cn[1]}" "127.0.0.1:${cn[2]}" "127.0.0.1:${cn[3]}"
  corral_addrs="127.0.0.1:${cz[1]},127.0.0.1:${cz[2]},127.0.0.1:${cz[3]}"
}
