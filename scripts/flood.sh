#!/usr/bin/env bash
# The flood campaign: a 3-server cluster written to at full speed with
# 256 KiB values until 640 MiB are written, checking that every server's
# resident memory stays bounded (log_retained_bytes, the write queues) and
# that a new client is still served. Writes about 2 GiB to disk in all.
# Usage: scripts/flood.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
cargo build --quiet --bin corral
for run in $(seq 1 "$runs"); do
  echo "flood run $run of $runs"
  cargo test -p core-server --test it t63_cluster_flood -- --ignored --nocapture
done
