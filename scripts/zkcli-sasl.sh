#!/usr/bin/env bash
# Drives the real ZooKeeper command line (zkCli.sh from Debian's package,
# Java's DIGEST-MD5 client) against a Corral server with SASL users: bob
# authenticates, creates a node with a sasl:bob ACL and sees himself in
# whoami; eve is refused by that ACL; a wrong password is AuthFailed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
cargo build --quiet --bin corral
work=$(mktemp -d)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

cat >"$work/server-jaas.conf" <<'JAAS'
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_bob="bobsecret"
    user_eve="evesecret";
};
JAAS
"$target_dir/debug/corral" serve --data-dir "$work/data" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  --sasl-users "$work/server-jaas.conf" >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
trap 'kill "$corral_pid" 2>/dev/null; wait "$corral_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)

# run_as NAME USER PASSWORD: zkCli.sh with a JAAS Client section for USER,
# reading commands from $work/NAME.cmds, output in $work/NAME.out.
run_as() {
  local name=$1 user=$2 password=$3
  cat >"$work/$name-jaas.conf" <<JAAS
Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="$user"
    password="$password";
};
JAAS
  CLIENT_JVMFLAGS="-Djava.security.auth.login.config=$work/$name-jaas.conf -Dzookeeper.sasl.client=true" \
    timeout 60 "$ZKCLI" -server "$zk" <"$work/$name.cmds" >"$work/$name.out" 2>&1 || true
}

failures=0
absent() {
  local name=$1 text=$2
  if grep -qF -- "$text" "$work/$name.out"; then
    echo "UNWANTED $name: $text"
    failures=$((failures + 1))
  else
    echo "ok      $name: no $text"
  fi
}
expect() {
  local name=$1 text=$2
  if grep -qF -- "$text" "$work/$name.out"; then
    echo "ok      $name: $text"
  else
    echo "MISSING $name: $text"
    failures=$((failures + 1))
  fi
}

printf '%s\n' "create /bobnode secret-data sasl:bob:cdrwa" "getAcl /bobnode" "get /bobnode" "whoami" "quit" >"$work/bob.cmds"
run_as bob bob bobsecret
expect bob "Created /bobnode"
expect bob "'sasl,'bob"
expect bob "secret-data"
expect bob "sasl: bob"
absent bob "AuthFailed"

printf '%s\n' "whoami" "get /bobnode" "quit" >"$work/eve.cmds"
run_as eve eve evesecret
expect eve "sasl: eve"
expect eve "Insufficient permission : /bobnode"

printf '%s\n' "get /bobnode" "quit" >"$work/wrong.cmds"
run_as wrong bob not-the-password
expect wrong "state:AuthFailed"
absent wrong "secret-data"

if [ "$failures" -ne 0 ]; then
  for name in bob eve wrong; do
    echo "--- zkCli output ($name):"
    cat "$work/$name.out"
  done
  exit 1
fi
echo "zkCli.sh with SASL DIGEST-MD5 against Corral: all checks passed"
