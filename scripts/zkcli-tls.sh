#!/usr/bin/env bash
# Drives the real ZooKeeper command line (zkCli.sh from Debian's package)
# over TLS against Corral's ZooKeeper secure port, with mutual TLS: the
# client's PEM key store (certificate and key in one file) and PEM trust
# store are ZooKeeper's own settings (docs/security-tls.md), the throwaway
# CA and certificates come from `corral-test-certs` (testkit).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
cargo build --quiet --bin corral
cargo build --quiet -p testkit --bin corral-test-certs
work=$(mktemp -d)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
pki="$work/pki"
"$target_dir/debug/corral-test-certs" "$pki"
"$target_dir/debug/corral" serve --data-dir "$work/data" --listen 127.0.0.1:0 --no-zk \
  --zk-secure-listen 127.0.0.1:0 --tls-cert "$pki/server.pem" --tls-key "$pki/server-key.pem" \
  --tls-client-ca "$pki/ca.pem" >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
trap 'kill "$corral_pid" 2>/dev/null; wait "$corral_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
zk=$(wait_for_line "$work/corral.out" "zookeeper-secure: " 60)

cat >"$work/commands" <<'CMDS'
create /tls data-over-tls
get /tls
ls /
whoami
create /mine mine-data auth::cdrwa
getAcl /mine
get /mine
quit
CMDS
# Debian's zookeeper.jar leaves netty-resolver and netty-codec (which the
# Netty client socket needs) off its manifest's class path: a second -cp,
# which comes later on zkCli.sh's java line, adds them.
classpath=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/netty-resolver.jar:/usr/share/java/netty-codec.jar
CLIENT_JVMFLAGS="-cp $classpath -Dzookeeper.client.secure=true \
-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty \
-Dzookeeper.ssl.keyStore.location=$pki/client-keystore.pem -Dzookeeper.ssl.keyStore.type=PEM \
-Dzookeeper.ssl.trustStore.location=$pki/ca.pem -Dzookeeper.ssl.trustStore.type=PEM" \
  "$ZKCLI" -waitforconnection -timeout 30000 -server "$zk" <"$work/commands" >"$work/zkcli.out" 2>&1 || true

failures=0
expect() {
  if grep -qF -- "$1" "$work/zkcli.out"; then
    echo "ok      $1"
  else
    echo "MISSING $1"
    failures=$((failures + 1))
  fi
}
expect "Created /tls"
expect "data-over-tls"
expect "[tls, zookeeper]"
expect "x509: CN=zkcli,OU=tools,O=Corral"
# zkCli splits an ACL at commas, so a DN cannot be typed in one: `auth`
# stands for the connection's x509 id, as in ZooKeeper.
expect "Created /mine"
# (zkCli prints ids CSV-encoded: a comma as %2C.)
expect "'x509,'CN=zkcli%2COU=tools%2CO=Corral"
expect "mine-data"
if [ "$failures" -ne 0 ]; then
  echo "zkCli output:"
  cat "$work/zkcli.out"
  echo "corral log:"
  tail -20 "$work/corral.err"
  exit 1
fi
echo "zkCli.sh over TLS against Corral: all checks passed"
