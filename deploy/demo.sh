#!/bin/sh
# `make demo`: sidikd doing its job. With its embedded defaults (data and the
# print signing key in ./var, the dev PKI made in ./var/pki on the first run;
# only the ports are left to the kernel, so a busy 7443 cannot stop it) it
# is preloaded with a synthetic gallery of persons from the old system, then
# eight regional offices upload a day's enrollments scaled to a couple of
# minutes, with planted duplicates and two offices losing their link for a
# while (deploy/demo_fleet.py); progress is shown live, and a report checks
# the answers against what was planted. A print station then leases Jakarta
# Pusat's authorisations and checks their signatures offline.
#
# Every run starts from an empty store (the generated inputs and the PKI are
# kept). DEMO_GALLERY sets the preloaded persons (default 5000).
set -eu
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
sidik="$build/bin/sidik"
gallery=${DEMO_GALLERY:-5000}
py=/usr/bin/python3
demo=var/demo
mkdir -p "$demo"

echo "== sidik version"
"$sidik" version | grep -E '^(sidik|SIMD) '
echo

if [ ! -f var/pki/ca.crt ]; then
    echo "== deploy/pki.sh var/pki  (a development CA, the server's and one certificate per role)"
    sh "$src/deploy/pki.sh" var/pki >/dev/null
fi
for office in JKT-01 BDG-02 SBY-03 MDN-04 MKS-05 DPS-06 SMG-07 PLG-08; do
    sh "$src/deploy/pki.sh" var/pki client office "$office" >/dev/null
done

echo "== synthetic people (sidik gen; made once, kept in $demo)"
[ -f "$demo/old/records.iso" ] ||
    "$sidik" gen --persons "$gallery" --seed 7 --reenroll-rate 0 --out "$demo/old" --force >/dev/null
[ -f "$demo/new/records.iso" ] ||
    "$sidik" gen --persons 1500 --seed 8 --reenroll-rate 0.03 --out "$demo/new" --force >/dev/null
[ -f "$demo/again/records.iso" ] ||
    "$sidik" gen --persons 60 --impressions 2 --seed 7 --reenroll-rate 0 --out "$demo/again" --force >/dev/null
echo "the old system's $gallery persons, 1500 new ones (3% of them enrolled twice in the day),"
echo "and second captures of 60 old persons"
echo

echo "(each run starts from an empty store: var/journal, var/control, var/gallery, the print"
echo "signing key and the last run's print authorisations are removed first)"
# The authorisations too: an earlier run's are signed with the key removed
# here, and the offline check below would rightly call them invalid.
rm -rf var/journal var/control var/gallery var/print-signing.key var/print-signing.pub
rm -f "$demo"/auth-*.pb
echo
echo "== sidik preload  (the old system's persons into the gallery, sidikd not yet running)"
"$py" "$src/deploy/demo_fleet.py" niks "$gallery" > "$demo/old/niks.txt"
"$sidik" preload --data var --records "$demo/old/records.iso" --niks "$demo/old/niks.txt"
echo

printf 'listen = 127.0.0.1:0\nmetrics_listen = 127.0.0.1:0\n' > var/demo.conf
echo "== sidikd --config var/demo.conf  (embedded defaults; TLS 1.3, mutual certificates, gRPC)"
"$build/bin/sidikd" --config var/demo.conf 2> var/sidikd.log &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
port= mport=
for _ in $(seq 1 150); do
    port=$(grep -o 'msg="listening".*port=[0-9]*' var/sidikd.log | grep -o 'port=[0-9]*' | cut -d= -f2 || true)
    mport=$(grep -o 'metrics_port=[0-9]*' var/sidikd.log | cut -d= -f2 || true)
    [ -n "$port" ] && [ -n "$mport" ] && break
    kill -0 "$pid" 2>/dev/null || { cat var/sidikd.log; exit 1; }
    sleep 0.1
done
grep -E 'msg="(dedup stage open|fusion model|print signing key made)' var/sidikd.log | sed 's/^ts=[^ ]* //'
echo "listening on 127.0.0.1:$port, /metrics on 127.0.0.1:$mport"
echo

echo "== a day at eight regional offices"
rc=0
"$py" "$src/deploy/demo_fleet.py" run "$src/proto" var/pki "$port" "$mport" "$demo" || rc=$?
echo

echo "== a print station in Jakarta Pusat (certificate CN 31.71) leases and checks offline"
"$py" - "$src" var/pki "$port" "$demo" <<'PY' || rc=1
import os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "integration"))
from sidik_client import channel, load_stubs
pb, rpc = load_stubs(os.path.join(sys.argv[1], "proto"))
printer = rpc.PrintStub(channel(sys.argv[2], sys.argv[3], "printer"))
lease = printer.Lease(pb.LeaseRequest(max=3), timeout=10)
for a in lease.authorisations:
    with open(os.path.join(sys.argv[4], f"auth-{a.enrollment_id}.pb"), "wb") as f:
        f.write(a.SerializeToString())
acked = printer.Ack(pb.AckRequest(enrollment_ids=[a.enrollment_id for a in lease.authorisations]),
                    timeout=10).acknowledged if lease.authorisations else 0
print(f"leased {len(lease.authorisations)} authorisations, printed and acknowledged {acked}")
PY
"$sidik" print verify --key var/print-signing.pub "$demo"/auth-*.pb || rc=1
echo

# The people around it, with the CLI's own gRPC client: an auditor and an
# admin, their certificates and the server named once in the environment.
export SIDIK_SERVER="localhost:$port" SIDIK_CA=var/pki/ca.crt
auditor="--cert var/pki/auditor.crt --key var/pki/auditor.key"
admin="--cert var/pki/admin.crt --key var/pki/admin.key"
echo "== an auditor: the review queue, the duplicates caught, one of them in full"
# shellcheck disable=SC2086
"$sidik" audit review $auditor --page-size 5 || rc=1
# shellcheck disable=SC2086
"$sidik" audit search $auditor --decision duplicate --page-size 5 || rc=1
# shellcheck disable=SC2086
dup=$("$sidik" audit search $auditor --decision duplicate --page-size 1 --json 2>/dev/null |
      "$py" -c 'import json, sys; print(json.loads(sys.stdin.readline())["enrollment_id"])') || rc=1
# shellcheck disable=SC2086
[ -n "$dup" ] && { "$sidik" audit show "$dup" $auditor || rc=1; }
# shellcheck disable=SC2086
"$sidik" audit verify $auditor || rc=1
echo
echo "== an admin: the node's shards and figures"
# shellcheck disable=SC2086
"$sidik" admin shards $admin || rc=1
# shellcheck disable=SC2086
"$sidik" admin stats $admin || rc=1
echo

kill -TERM "$pid"
wait "$pid" || rc=1
trap - EXIT
echo "sidikd stopped (SIGTERM: everything accepted answered, journal synced). To look further:"
echo "  $build/bin/sidikd --config var/demo.conf          start it again on the same data"
echo "  curl http://127.0.0.1:<metrics port>/metrics     counters, queues, receipt and decision times"
echo "  $sidik print verify --key var/print-signing.pub $demo/auth-*.pb"
echo "  $sidik audit --help; $sidik admin --help            auditors' and admins' commands (sidikd running)"
echo "  less var/sidikd.log                               what the server said"
echo "  $sidik eval ../shared/data/fvc2002                 the matcher on real fingerprints"
exit $rc
