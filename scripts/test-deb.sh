#!/usr/bin/env bash
# The Debian package, end to end: builds it (cargo deb), installs it here
# with dpkg -i, checks what it installed (user, directories, conffile,
# unit), verifies the unit with systemd-analyze, runs the INSTALLED binary
# with the PACKAGED configuration as the corral user (ports moved to free
# loopback ports), talks to it over both protocols and the admin port, stops
# it with SIGTERM (it must exit 0) and purges the package, leaving the
# machine as it was. Needs root; meant for throwaway machines and CI.
# Refuses to run where a corral package, user or data directory exists.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i)"
if dpkg-query -W -f='${Status}' corral 2>/dev/null | grep -q installed; then
  fail "a corral package is installed already; this test would purge it"
fi
if getent passwd corral >/dev/null || getent group corral >/dev/null || [ -e /var/lib/corral ] || [ -e /etc/corral ]; then
  fail "a corral user, group, /var/lib/corral or /etc/corral exists already; purging would delete it"
fi

work=$(mktemp -d)
server_pid=""
installed=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$installed" ]; then
    dpkg --purge corral >/dev/null 2>&1 || echo "cleanup: dpkg --purge corral failed" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step "build the package"
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install cargo-deb --locked
fi
# It prints the paths it wrote: the .deb and the corral-dbgsym .ddeb.
deb=$(cargo deb -p corral-cli | grep '\.deb$' | tail -n1)
[ -f "$deb" ] || fail "cargo deb printed no package path (got '$deb')"
dpkg-deb --info "$deb" | sed -n 's/^ *\(Package\|Version\|Architecture\|Depends\):/  &/p'
dpkg-deb --contents "$deb" | awk '{print "  " $6}'

step "install it"
installed=yes
dpkg -i "$deb"

step "check the user, group, directories and files"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd corral) || fail "no user corral"
getent group corral >/dev/null || fail "no group corral"
[ "$uid" -lt 1000 ] || fail "corral is not a system user (uid $uid)"
[ "$home" = /var/lib/corral ] || fail "corral's home is $home"
[ "$shell" = /usr/sbin/nologin ] || fail "corral's shell is $shell"
[ "$(stat -c %U:%G:%a /var/lib/corral)" = corral:corral:750 ] ||
  fail "/var/lib/corral is $(stat -c %U:%G:%a /var/lib/corral)"
[ "$(stat -c %U:%G:%a /etc/corral/corral.toml)" = root:corral:640 ] ||
  fail "/etc/corral/corral.toml is $(stat -c %U:%G:%a /etc/corral/corral.toml)"
dpkg-query -W -f='${Conffiles}\n' corral | grep -q ' /etc/corral/corral.toml ' ||
  fail "/etc/corral/corral.toml is not a conffile"
grep -q '^data_dir = "/var/lib/corral"' /etc/corral/corral.toml || fail "packaged data_dir is not /var/lib/corral"
[ -x /usr/bin/corral ] || fail "no /usr/bin/corral"
/usr/bin/corral --version
unit=$(dpkg -L corral | grep '/systemd/system/corral.service$') || fail "no corral.service in the package"
echo "  unit: $unit"

step "systemd-analyze verify"
# It checks every directive and value and that ExecStart's binary exists,
# but exits 0 on an unknown key or a bad value (it only warns, as systemd
# would when loading the unit): any output is a failure here.
verify_out=$(systemd-analyze verify "$unit" 2>&1) || {
  echo "$verify_out" >&2
  fail "systemd-analyze verify failed"
}
if [ -n "$verify_out" ]; then
  echo "$verify_out" >&2
  fail "systemd-analyze verify printed warnings"
fi
echo "  verified"
# For the reader, not a gate: systemd's own score of the unit's sandboxing.
systemd-analyze security --offline=yes "$unit" 2>&1 | grep 'Overall exposure' | sed 's/^/  /'

step "run the installed binary with the packaged config as corral"
native=$(free_port)
zk=$(free_port)
admin=$(free_port)
# setpriv execs the server in place (no parent left between us and it, as
# runuser would be), so $! is the server and `wait` gets its exit status.
setpriv --reuid=corral --regid=corral --init-groups -- \
  /usr/bin/corral serve --config /etc/corral/corral.toml \
  --listen "127.0.0.1:$native" --zk-listen "127.0.0.1:$zk" --admin-listen "127.0.0.1:$admin" \
  --four-letter-words ruok,srvr >"$work/out" 2>"$work/err" &
server_pid=$!
if ! wait_for_line "$work/out" "listening: " 30 >/dev/null; then
  cat "$work/err" >&2
  fail "the installed server did not start"
fi
wait_for_port "$native" 10
[ "$(stat -c %U /proc/$server_pid)" = corral ] || fail "the server does not run as corral"

step "talk to it"
/usr/bin/corral --server "127.0.0.1:$native" create /x hi
got=$(/usr/bin/corral --server "127.0.0.1:$native" get /x)
echo "  get /x: $got"
echo "$got" | grep -qx 'hi' || fail "get /x printed '$got', not 'hi'"
ruok=$( (exec 3<>"/dev/tcp/127.0.0.1/$zk" && printf ruok >&3 && timeout 10 cat <&3) 2>/dev/null || true)
echo "  ruok: $ruok"
[ "$ruok" = imok ] || fail "ruok on the ZooKeeper port answered '$ruok'"
livez=$(curl -fsS "http://127.0.0.1:$admin/livez") || fail "/livez failed"
readyz=$(curl -fsS "http://127.0.0.1:$admin/readyz") || fail "/readyz failed"
echo "  /livez: $livez  /readyz: $readyz"
owners=$(find /var/lib/corral -mindepth 1 ! -user corral)
[ -z "$owners" ] || fail "files in /var/lib/corral not owned by corral: $owners"
[ -n "$(find /var/lib/corral -mindepth 1 -print -quit)" ] || fail "the server wrote nothing to /var/lib/corral"

step "stop it with SIGTERM"
kill -TERM "$server_pid"
deadline=$((SECONDS + 30))
while kill -0 "$server_pid" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "the server did not stop within 30 s of SIGTERM"
  sleep 0.1
done
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || {
  cat "$work/err" >&2
  fail "the server exited $rc after SIGTERM"
}
echo "  exited 0"

step "purge"
dpkg --purge corral
installed=""
! getent passwd corral >/dev/null || fail "user corral left after purge"
! getent group corral >/dev/null || fail "group corral left after purge"
for path in /var/lib/corral /etc/corral /usr/bin/corral "$unit"; do
  [ ! -e "$path" ] || fail "$path left after purge"
done
echo "test-deb: PASS"
