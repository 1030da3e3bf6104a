#!/usr/bin/env bash
# The seeded differential generator (issue 14): SEEDS random workloads of 200
# operations each (seeds FIRST..FIRST+SEEDS-1), run against Apache ZooKeeper
# 3.8 (Debian's package, on a free loopback port) and against Corral with
# zk_compat = "3.8", compared line by line; prints the first difference of
# every seed that differs. CORRAL_DIFF_DUMP=1 prints both whole transcripts.
# Usage: scripts/zk-differential-seeds.sh [seeds] [first]
set -euo pipefail
cd "$(dirname "$0")/.."
CORRAL_DIFF_SEEDS=${1:-500} CORRAL_DIFF_FIRST_SEED=${2:-1} \
  exec scripts/zk-differential.sh t49_differential_seeded
