#!/usr/bin/env bash
# Runs the differential test: the same operations against Apache ZooKeeper 3.8
# (Debian's package, started here on a free loopback port) and against Corral,
# comparing results, error codes, Stat shapes and sequential names.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_zookeeper
work=$(mktemp -d)
start_reference_zookeeper "$work"
trap 'kill "$ZK_REF_PID" 2>/dev/null; wait "$ZK_REF_PID" 2>/dev/null || true; rm -rf "$work"' EXIT
CORRAL_ZK_REFERENCE="127.0.0.1:$ZK_REF_PORT" \
  cargo test -p core-server --test it -- --ignored --nocapture "${@:-t41_differential}"
