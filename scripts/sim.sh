#!/usr/bin/env bash
# The deterministic cluster simulation (sim/, decision 0016) in release.
#   scripts/sim.sh [seeds] [first]   run seeds first..first+seeds (default 1000 from 0)
#   SIM_SEED=42 scripts/sim.sh       run one seed and print its trace
#   SIM_BUG=1 scripts/sim.sh 200     plant the ack-before-fsync bug
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p sim --bin sim
exec target/release/sim "$@"
