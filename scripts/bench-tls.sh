#!/usr/bin/env bash
# The cost of TLS on the native gRPC API: three standalone servers on the
# same machine, one plain, one TLS (server certificate only) and one mutual
# TLS (--tls-client-ca), driven by the same load generator (`loadgen`, with
# --tls-ca, and --tls-cert/--tls-key for mutual TLS). Every point runs on the
# three back to back, the order rotating from round to round, so that a busy
# moment of a shared machine falls on all of them alike. Prints one line per
# point (with the server's CPU time per operation, user + system from /proc),
# then the medians and the TLS/plain and mTLS/plain ratios.
# The throwaway CA and certificates (ECDSA P-256, the server's for IP
# 127.0.0.1 and DNS localhost) come from openssl if it is installed, else from
# Python's `cryptography` package (pip install --user if missing);
# BENCH_TLS_PKI=python forces the latter.
# Usage: scripts/bench-tls.sh [rounds] [seconds-per-point]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rounds=${1:-3} seconds=${2:-5}
cargo build --quiet --release --bin corral --bin loadgen
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# pki_openssl DIR: ca.pem, server.pem/server-key.pem, client.pem/client-key.pem.
pki_openssl() {
  local d=$1 side
  for side in ca server client; do
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$side-key.pem" 2>/dev/null)
  done
  cat >"$d/ext.cnf" <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CNF
  openssl req -x509 -new -key "$d/ca-key.pem" -sha256 -days 2 -subj "/CN=corral bench CA" \
    -config "$d/ext.cnf" -extensions ca -out "$d/ca.pem"
  for side in server client; do
    openssl req -new -key "$d/$side-key.pem" -subj "/CN=corral-bench-$side" -config "$d/ext.cnf" -out "$d/$side.csr"
    openssl x509 -req -in "$d/$side.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
      -sha256 -days 2 -extfile "$d/ext.cnf" -extensions "$side" -out "$d/$side.pem" 2>/dev/null
  done
}

# pki_python DIR: the same files, from the `cryptography` package.
pki_python() {
  if ! python3 -c 'import cryptography' 2>/dev/null; then
    echo "installing Python's cryptography package (pip install --user)" >&2
    # An externally managed Python (PEP 668) refuses --user installs unless told.
    python3 -m pip install --user --quiet cryptography ||
      python3 -m pip install --user --quiet --break-system-packages cryptography
  fi
  (umask 077 && python3 - "$1" <<'PY'
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def usage(sign_certs):
    return x509.KeyUsage(digital_signature=not sign_certs, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=sign_certs, crl_sign=sign_certs,
                         encipher_only=False, decipher_only=False)

def cert(subject, key, issuer, issuer_key, ca, extra=()):
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(usage(ca), critical=True))
    for ext in extra:
        b = b.add_extension(ext, critical=False)
    return b.sign(issuer_key, hashes.SHA256())

def write(stem, c, key):
    with open(f"{out}/{stem}.pem", "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(f"{out}/{stem}-key.pem", "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))

ca_name = "corral bench CA"
ca_key = ec.generate_private_key(ec.SECP256R1())
write("ca", cert(ca_name, ca_key, ca_name, ca_key, True), ca_key)
server_key = ec.generate_private_key(ec.SECP256R1())
write("server", cert("corral-bench-server", server_key, ca_name, ca_key, False, [
    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
    x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                 x509.DNSName("localhost")]),
]), server_key)
client_key = ec.generate_private_key(ec.SECP256R1())
write("client", cert("corral-bench-client", client_key, ca_name, ca_key, False, [
    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
]), client_key)
PY
  )
}

pki="$work/pki"
mkdir -p "$pki"
if [ "${BENCH_TLS_PKI:-auto}" != python ] && command -v openssl >/dev/null; then
  echo "certificates: openssl" >&2
  pki_openssl "$pki"
else
  echo "certificates: python cryptography" >&2
  pki_python "$pki"
fi

# start NAME FLAG...: a standalone server with its own data folder, native
# listener on a free loopback port, no ZooKeeper port; sets addr[NAME] and
# pid[NAME].
declare -A addr pid
start() {
  local name=$1
  shift
  "$bin/corral" serve --max-client-cnxns 0 --data-dir "$work/$name" --listen 127.0.0.1:0 --no-zk "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  pid[$name]=$!
  addr[$name]=$(wait_for_line "$work/$name.out" "listening: " 60)
}
start plain
start tls --tls-cert "$pki/server.pem" --tls-key "$pki/server-key.pem"
start mtls --tls-cert "$pki/server.pem" --tls-key "$pki/server-key.pem" --tls-client-ca "$pki/ca.pem"

# client_flags SIDE: loadgen's TLS flags for SIDE, into the array $flags.
client_flags() {
  case $1 in
    plain) flags=() ;;
    tls) flags=(--tls-ca "$pki/ca.pem") ;;
    mtls) flags=(--tls-ca "$pki/ca.pem" --tls-cert "$pki/client.pem" --tls-key "$pki/client-key.pem") ;;
  esac
}

# cpu_ticks PID: user + system clock ticks of a server so far.
cpu_ticks() {
  awk '{print $14 + $15}' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

# Every server gets its keys (loadgen creates them on its first run) and a
# short warm-up before the rounds, so that no measured point pays for them.
for side in plain tls mtls; do
  client_flags "$side"
  "$bin/loadgen" --server "${addr[$side]}" --workload write --clients 4 --seconds 1 "${flags[@]}" >/dev/null
done

results="$work/results.jsonl"
sides=(plain tls mtls)
for round in $(seq 1 "$rounds"); do
  for point in "write 1" "write 16" "read 16" "read 64"; do
    set -- $point
    for i in 0 1 2; do
      side=${sides[$(((i + round - 1) % 3))]}
      client_flags "$side"
      t0=$(cpu_ticks "${pid[$side]}")
      out=$("$bin/loadgen" --server "${addr[$side]}" --workload "$1" --clients "$2" --seconds "$seconds" --json "${flags[@]}")
      t1=$(cpu_ticks "${pid[$side]}")
      # One JSON line per point into $results, one text line on stdout.
      python3 - "$out" "$round" "$side" "$((t1 - t0))" "$hz" "$results" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r["round"], r["side"] = int(sys.argv[2]), sys.argv[3]
r["cpu_us_per_op"] = int(sys.argv[4]) / int(sys.argv[5]) * 1e6 / max(1, r["ops"])
with open(sys.argv[6], "a") as f:
    f.write(json.dumps(r) + "\n")
print("round %d %-5s %-5s %2d clients: %8.0f ops/s  p50 %.2f ms  p99 %.2f ms  server cpu %.1f us/op"
      % (r["round"], r["side"], r["workload"], r["clients"], r["ops_per_s"], r["p50_ms"],
         r["p99_ms"], r["cpu_us_per_op"]))
PY
    done
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
points = sorted({(r["workload"], r["clients"]) for r in rows}, key=lambda p: (p[0] != "write", p[1]))
def pick(w, c, side):
    return [r for r in rows if (r["workload"], r["clients"], r["side"]) == (w, c, side)]
def med(rs, field):
    return statistics.median(r[field] for r in rs)
n = len({r["round"] for r in rows})
print(f"\nmedians of {n} rounds: ops/s [min-max], p50 ms / p99 ms, server cpu us/op")
print(f"{'point':<10} {'side':<5} {'ops/s':>8} {'[min-max]':>19} {'p50':>6} {'p99':>6} {'cpu':>6}")
for w, c in points:
    for side in ("plain", "tls", "mtls"):
        rs = pick(w, c, side)
        ops = [r["ops_per_s"] for r in rs]
        print(f"{w + ' ' + str(c):<10} {side:<5} {med(rs, 'ops_per_s'):>8.0f} "
              f"{'[%.0f-%.0f]' % (min(ops), max(ops)):>19} {med(rs, 'p50_ms'):>6.2f} "
              f"{med(rs, 'p99_ms'):>6.2f} {med(rs, 'cpu_us_per_op'):>6.1f}")
print("\nratios of the medians to plain (ops/s, p50, p99, cpu/op); ops/s ratio per round [min-max]")
for w, c in points:
    plain = pick(w, c, "plain")
    for side in ("tls", "mtls"):
        rs = pick(w, c, side)
        by_round = {r["round"]: r["ops_per_s"] for r in plain}
        per_round = [r["ops_per_s"] / by_round[r["round"]] for r in rs if by_round.get(r["round"])]
        ratio = lambda f: med(rs, f) / med(plain, f) if med(plain, f) else float("nan")
        print(f"{w + ' ' + str(c):<10} {side + '/plain':<10} ops {ratio('ops_per_s'):.3f} "
              f"[{min(per_round):.3f}-{max(per_round):.3f}]  p50 {ratio('p50_ms'):.3f}  "
              f"p99 {ratio('p99_ms'):.3f}  cpu {ratio('cpu_us_per_op'):.3f}")
PY
