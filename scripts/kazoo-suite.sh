#!/usr/bin/env bash
# kazoo's own test suite (2.11.0, from its PyPI sdist) against a 3-server
# Corral cluster: scripts/kazoo/corral_cluster.py replaces kazoo's harness
# cluster (Java ZooKeeper servers) with `corral serve` processes.
#
#   scripts/kazoo-suite.sh [pytest args]     e.g. -k test_lock -x
#
# Environment:
#   CORRAL_BIN        corral binary to run (default: built here with
#                     `cargo build -p corral-cli`, debug profile)
#   KAZOO_SUITE_ZK=1  run the same suite against Apache ZooKeeper 3.8 with
#                     kazoo's own harness instead (Debian's zookeeper package,
#                     installed if missing; ZOOKEEPER_CLASSPATH overrides
#                     the class path below)
#
# Debug build, not release: it shares the debug build cache every other
# check uses (a release build is a second full compile), and the suite is
# bound by timeouts and sleeps in kazoo's tests, not by server CPU.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/lib.sh"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="$target/kazoo-suite"
version=2.11.0
mkdir -p "$cache"

# kazoo's sdist (its tests are not in the wheel), unpacked once.
src="$cache/kazoo-$version"
if [ ! -f "$src/kazoo/tests/test_client.py" ]; then
    python3 -m pip download --quiet --disable-pip-version-check \
        --no-deps --no-binary :all: -d "$cache/dl" "kazoo==$version"
    tar -xzf "$cache/dl/kazoo-$version.tar.gz" -C "$cache"
fi

# pytest and kazoo's test extras (setup.cfg [test]) in a venv of their own.
venv="$cache/venv"
if [ ! -x "$venv/bin/pytest" ] || [ ! -f "$venv/.installed-$version" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "$src[test]" "pure-sasl>=0.5.1" "pyopenssl<24.3"
    touch "$venv/.installed-$version"
fi

# kazoo's test_build compares this with the version the server reports.
plugin=()
if [ "${KAZOO_SUITE_ZK:-}" = 1 ]; then
    export ZOOKEEPER_VERSION=3.8.0 # Debian's package
    ensure_zookeeper
    # The jar's manifest names most dependencies; Debian's 3.8.0 leaves out
    # the Netty codec and resolver, epoll's unix-common and the servlet API
    # (kazoo's zoo.cfg uses the Netty connection factory and AdminServer).
    j=/usr/share/java
    export ZOOKEEPER_CLASSPATH="${ZOOKEEPER_CLASSPATH:-$j/zookeeper.jar:$j/netty-codec.jar:$j/netty-resolver.jar:$j/netty-transport-native-unix-common.jar:$j/servlet-api.jar}"
else
    # Corral reports the 3.8 release whose behaviour it follows (admin::VERSION).
    export ZOOKEEPER_VERSION=3.8.4
    if [ -z "${CORRAL_BIN:-}" ]; then
        (cd "$root" && cargo build --quiet -p corral-cli)
        CORRAL_BIN="$target/debug/corral"
    fi
    export CORRAL_BIN
    export PYTHONPATH="$root/scripts/kazoo${PYTHONPATH:+:$PYTHONPATH}"
    plugin=(-p corral_cluster)
fi

# Run from the unpacked sdist so kazoo's tests import this copy of kazoo.
# Temporary files in a folder of this run, deleted after it: kazoo's TLS
# test leaves its certificates behind, and a killed run its servers' data.
export TMPDIR="$cache/tmp.$$"
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
cd "$src"
"$venv/bin/python" -m pytest "${plugin[@]}" kazoo/tests "$@"
