#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/fuzz_targets/) one after another, each
# for SECONDS (default 60), with a 2 GiB memory limit. Corpora grow in
# fuzz/corpus/<target> (committed), crashes land in fuzz/artifacts/<target>.
# Needs the nightly toolchain and cargo-fuzz (installed here if missing).
# Usage: scripts/fuzz.sh [seconds-per-target] [target ...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build -O
failed=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s"
  if ! cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
      -max_len=65536 -timeout=10 -print_final_stats=1 2>"artifacts-$target.log"; then
    echo "!! $target failed: see fuzz/artifacts/$target and fuzz/artifacts-$target.log"
    tail -40 "artifacts-$target.log"
    failed=1
  else
    grep -E "stat::number_of_executed_units|cov:" "artifacts-$target.log" | tail -2
  fi
done
exit $failed
