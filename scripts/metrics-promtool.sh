#!/usr/bin/env bash
# Lints what Corral's admin listener serves on /metrics with promtool (from
# Debian's prometheus package), checks the alerting rules of
# docs/monitoring.md (packaging/prometheus/corral-alerts.yml) with promtool,
# and checks that every metric the Grafana dashboard and the rules use is in
# a real scrape.
#
# Scraped: a 3-server `corral dev` cluster, written to over both protocols,
# and a standalone `corral serve` that snapshots every 5 entries and lets a
# ZooKeeper session expire (so the snapshot and expiry series exist).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

alerts=packaging/prometheus/corral-alerts.yml
dashboard=packaging/grafana/corral.json
doc=docs/monitoring.md

# Lint findings promtool may report on the series core-server writes,
# exactly as it prints them: reported, not fatal (none today). Any other
# finding fails.
known_lint=()

if ! command -v promtool >/dev/null; then
  echo "installing Debian's prometheus package (for promtool)" >&2
  apt_install --no-install-recommends prometheus
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "installing Debian's python3-yaml package" >&2
  apt_install --no-install-recommends python3-yaml
fi

cargo build --quiet --bin corral
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
corral="$target_dir/debug/corral"

work=$(mktemp -d)
pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_all EXIT

"$corral" dev --port 0 --zk-port 0 --dir "$work/dev" >"$work/dev.out" 2>"$work/dev.err" &
pids+=($!)
"$corral" serve --data-dir "$work/solo" --listen 127.0.0.1:0 --zk-listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --snapshot-every 5 --tick-ms 100 >"$work/solo.out" 2>"$work/solo.err" &
pids+=($!)

dev_admin=$(wait_for_line "$work/dev.out" "admin: " 120 | grep -o 'http://[0-9.:]*')
dev_native=$(wait_for_line "$work/dev.out" "connect: " 10)
dev_zk=$(wait_for_line "$work/dev.out" "zookeeper connect: " 10 | awk '{print $1}' | cut -d, -f1)
solo_admin=$(wait_for_line "$work/solo.out" "admin: " 60)
solo_native=$(wait_for_line "$work/solo.out" "listening: " 10)
solo_zk=$(wait_for_line "$work/solo.out" "zookeeper: " 10)
# shellcheck disable=SC2206
admins=($dev_admin "$solo_admin")
[ "${#admins[@]}" = 4 ] || { echo "expected 3 dev admin URLs, got: $dev_admin" >&2; exit 1; }

# wait_ready URL SECONDS: poll URL/readyz until it answers 200.
wait_ready() {
  local url=$1 deadline=$((SECONDS + $2)) code
  until code=$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz") && [ "$code" = 200 ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$url/readyz did not answer 200 within $2 s (last: ${code:-no answer}: $(curl -s "$url/readyz"))" >&2
      return 1
    fi
    sleep 0.2
  done
}
for url in "${admins[@]}"; do wait_ready "$url" 60; done
echo "ready: ${admins[*]}"

# A minimal ZooKeeper-protocol client: `create ADDR PATH` creates PATH and
# closes its session; `abandon ADDR` opens a session with the shortest
# timeout and drops the connection without closing it (so it expires).
zk() {
  python3 - "$@" <<'PY'
import socket, struct, sys
def frame(sock, payload):
    sock.sendall(struct.pack(">i", len(payload)) + payload)
def read(sock):
    def exactly(n):
        b = b""
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            if not chunk:
                raise SystemExit("connection closed")
            b += chunk
        return b
    (n,) = struct.unpack(">i", exactly(4))
    return exactly(n)
def string(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b
what, addr = sys.argv[1], sys.argv[2]
host, port = addr.rsplit(":", 1)
sock = socket.create_connection((host, int(port)), timeout=10)
timeout_ms = 1 if what == "abandon" else 10000
frame(sock, struct.pack(">iqiqi", 0, 0, timeout_ms, 0, 16) + b"\0" * 16 + b"\0")
reply = read(sock)
if struct.unpack(">i", reply[4:8])[0] <= 0:
    raise SystemExit("session refused")
if what == "create":
    acl = struct.pack(">ii", 1, 31) + string("world") + string("anyone")
    frame(sock, struct.pack(">ii", 1, 1) + string(sys.argv[3]) + string("zk") + acl + struct.pack(">i", 0))
    xid, zxid, err = struct.unpack(">iqi", read(sock)[:16])
    if err != 0:
        raise SystemExit(f"create {sys.argv[3]}: error {err}")
    frame(sock, struct.pack(">ii", 2, -11))
    read(sock)
sock.close()
PY
}

# Writes: over the native API to the cluster and to each member (followers
# forward), over the ZooKeeper protocol to the first member, and enough to
# the standalone server for a snapshot.
"$corral" --server "$dev_native" create /monitoring m >/dev/null
for i in 1 2 3; do
  addr=$(echo "$dev_native" | cut -d, -f"$i")
  "$corral" --server "$addr" create "/monitoring/n$i" "v$i" >/dev/null
  "$corral" --server "$addr" set "/monitoring/n$i" "w$i" >/dev/null
  "$corral" --server "$addr" get "/monitoring/n$i" >/dev/null
done
zk create "$dev_zk" /monitoring/zk
for i in 1 2 3 4 5 6; do "$corral" --server "$solo_native" create "/s$i" x >/dev/null; done
zk create "$solo_zk" /zk
zk abandon "$solo_zk"

# wait_for_series URL NAME SECONDS: poll URL/metrics until NAME has a sample.
wait_for_series() {
  local url=$1 name=$2 deadline=$((SECONDS + $3))
  until curl -s "$url/metrics" >"$work/poll.txt" && grep -q "^${name}[{ ]" "$work/poll.txt"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "no $name in $url/metrics within $3 s" >&2
      return 1
    fi
    sleep 0.2
  done
}
wait_for_series "$solo_admin" corral_snapshot_size_bytes_count 30
wait_for_series "$solo_admin" corral_sessions_expired_total 30

failures=0
n=0
for url in "${admins[@]}"; do
  n=$((n + 1))
  curl -sf "$url/metrics" >"$work/scrape$n.txt"
  set +e
  promtool check metrics <"$work/scrape$n.txt" >"$work/lint$n.txt" 2>&1
  rc=$?
  set -e
  if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then
    echo "FAIL    promtool check metrics $url/metrics (exit $rc):"
    cat "$work/lint$n.txt"
    failures=$((failures + 1))
    continue
  fi
  unknown=0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    known=no
    for k in "${known_lint[@]}"; do [ "$line" = "$k" ] && known=yes; done
    if [ "$known" = yes ]; then
      echo "known   $url/metrics: $line"
    else
      echo "FAIL    $url/metrics: $line"
      unknown=$((unknown + 1))
    fi
  done <"$work/lint$n.txt"
  if [ "$unknown" = 0 ]; then
    echo "ok      promtool check metrics $url/metrics ($(grep -c '^[a-z]' "$work/scrape$n.txt") samples)"
  else
    failures=$((failures + 1))
  fi
done

if promtool check rules "$alerts" >"$work/rules.txt" 2>&1; then
  echo "ok      promtool check rules $alerts"
else
  echo "FAIL    promtool check rules $alerts:"
  cat "$work/rules.txt"
  failures=$((failures + 1))
fi

# Unit tests of the leader and readiness alerts on synthetic series (on a
# copy of the rules without annotations, so that only labels are compared).
python3 -c 'import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
for group in rules["groups"]:
    for rule in group["rules"]:
        rule.pop("annotations", None)
yaml.safe_dump(rules, open(sys.argv[2], "w"))' "$alerts" "$work/alerts-bare.yml"
cat >"$work/alerts-test.yml" <<TEST
rule_files:
  - $work/alerts-bare.yml
evaluation_interval: 10s
tests:
  - interval: 10s
    input_series:
      - series: 'corral_has_leader{job="corral",instance="a"}'
        values: '1 1 0 0 0 0 0 0'
      - series: 'corral_is_leader{job="corral",instance="a"}'
        values: '1 1 0 0 0 0 0 0'
      - series: 'corral_ready{job="corral",instance="a"}'
        values: '1 0 0 0 0 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 20s
        alertname: CorralMemberWithoutLeader
        exp_alerts: []
      - eval_time: 60s
        alertname: CorralMemberWithoutLeader
        exp_alerts:
          - exp_labels: {severity: critical, job: corral, instance: a}
      - eval_time: 60s
        alertname: CorralClusterWithoutLeader
        exp_alerts:
          - exp_labels: {severity: critical, job: corral}
      - eval_time: 80s
        alertname: CorralNotReady
        exp_alerts:
          - exp_labels: {severity: warning, job: corral, instance: a}
TEST
if promtool test rules "$work/alerts-test.yml" >"$work/rules-test.txt" 2>&1; then
  echo "ok      promtool test rules (leader and readiness alerts fire as meant)"
else
  echo "FAIL    promtool test rules:"
  cat "$work/rules-test.txt"
  failures=$((failures + 1))
fi

# The dashboard and the rules against the scrapes: JSON parses, every
# metric an expression names was scraped (or is one that only appears once
# its event happens, and core-server records it), the rules in the doc are
# the rules file; the dashboard's expressions, as recording rules, go
# through promtool's PromQL parser.
python3 - "$dashboard" "$alerts" "$doc" "$work/dashboard-rules.yml" "$work"/scrape*.txt <<'PY' || failures=$((failures + 1))
import json, re, subprocess, sys, yaml
dashboard_path, alerts_path, doc_path, rules_out, *scrapes = sys.argv[1:]
problems = []

# Series that exist only once their event has happened, which this run
# does not cause; each must still be recorded by name in core-server.
EVENT_ONLY = {"corral_proposals_failed_total", "corral_proposals_abandoned_total"}

scraped = set()
for path in scrapes:
    for line in open(path):
        m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)
        if m and not line.startswith("#"):
            scraped.add(m.group())

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "Inf", "NaN"}
def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue
        if e[m.end():].lstrip().startswith("(") or m.group() in KEYWORDS:
            continue
        names.add(m.group())
    return names

def in_source(name):
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    found = subprocess.run(["grep", "-rqF", f'"{base}"', "core-server/src"])
    return found.returncode == 0

try:
    dash = json.load(open(dashboard_path))
except ValueError as e:
    sys.exit(f"FAIL    {dashboard_path} is not JSON: {e}")
exprs = []  # (where, expr)
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            if t.get("expr"):
                exprs.append((f'panel "{p.get("title")}"', t["expr"]))
        walk(p.get("panels", []))
walk(dash.get("panels", []))
variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
for v in variables.values():
    q = v.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    if v.get("type") == "query" and q:
        m = re.fullmatch(r"label_values\((.*),\s*\w+\)", q.strip())
        exprs.append((f'variable "{v["name"]}"', m.group(1) if m else q))
if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    problems.append("the dashboard has no DS_PROMETHEUS datasource variable")
if "instance" not in variables:
    problems.append("the dashboard has no instance variable")
dash_exprs = len(exprs)

alerts = yaml.safe_load(open(alerts_path))
for group in alerts["groups"]:
    for rule in group["rules"]:
        exprs.append((f'alert {rule.get("alert")}', rule["expr"]))

used = {}
for where, expr in exprs:
    for name in metric_names(expr):
        used.setdefault(name, []).append(where)
event_only = []
for name, wheres in sorted(used.items()):
    if name in scraped or name == "up":
        continue
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if (name in EVENT_ONLY or base in EVENT_ONLY) and in_source(name):
        event_only.append(name)
        continue
    problems.append(f"{name} (in {wheres[0]}) is in no scrape")

doc = open(doc_path).read()
blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
rules_text = open(alerts_path).read()
if not any(b.strip() == rules_text.strip() for b in blocks):
    problems.append(f"{doc_path} has no yaml block identical to {alerts_path}")

def concrete(expr):
    expr = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)
rules = [{"record": f"dashboard:expr_{i}", "expr": concrete(e)} for i, (_, e) in enumerate(exprs[:dash_exprs])]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(rules_out, "w"))
check = subprocess.run(["promtool", "check", "rules", rules_out], capture_output=True, text=True)
if check.returncode != 0:
    problems.append("a dashboard expression does not parse:\n" + check.stdout + check.stderr)

for p in problems:
    print(f"FAIL    {p}")
if problems:
    sys.exit(1)
print(f"ok      {dash_exprs} dashboard and {len(exprs) - dash_exprs} alert expressions parse and name "
      f"{len(used)} metrics, all in the scrapes"
      + (f" except {', '.join(event_only)} (recorded only on failures; named in core-server)" if event_only else ""))
PY

if [ "$failures" -ne 0 ]; then
  echo "metrics-promtool: $failures check(s) failed"
  exit 1
fi
echo "metrics-promtool: all checks passed"
