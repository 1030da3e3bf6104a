#!/usr/bin/env bash
# Runs the web console's browser test: Debian's chromium and chromedriver
# (installed here if missing) driven by selenium, with kazoo as the
# ZooKeeper client, against a Corral server started on free loopback ports.
# With --screenshots DIR it also saves screenshots of the main pages there
# (docs/ui holds the committed ones).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
shots=""
if [ "${1:-}" = "--screenshots" ]; then
  shots=$(realpath "$2")
  mkdir -p "$shots"
fi
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "installing Debian's chromium and chromium-driver" >&2
  apt_install chromium chromium-driver
fi
cargo build --quiet --bin corral
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
python_libs="$target_dir/ui-browser-python"
if [ ! -d "$python_libs/selenium" ] || [ ! -d "$python_libs/kazoo" ]; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --target "$python_libs" "selenium==4.51.0" "kazoo==2.11.0"
fi
work=$(mktemp -d)
"$target_dir/debug/corral" serve --data-dir "$work/data" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  >"$work/corral.out" 2>"$work/corral.err" &
corral_pid=$!
trap 'kill "$corral_pid" 2>/dev/null; wait "$corral_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
zk=$(wait_for_line "$work/corral.out" "zookeeper: " 60)
admin=$(wait_for_line "$work/corral.out" "admin: " 60)
PYTHONPATH="$python_libs" python3 scripts/ui-browser.py "$admin" "$zk" "$shots"
