#!/bin/sh
# `make demo`, as far as the project honestly goes today: the build works,
# `sidik version` shows every linked library and the SIMD level this CPU gets,
# and `sidik eval` measures the matcher on real fingerprint templates.
# It grows into the full pipeline demonstration as the server lands.
set -eu
build=${1:-build}
echo "== sidik version"
"$build/bin/sidik" version
echo
data="$(dirname "$0")/../../shared/data/fvc2002"
if [ -d "$data" ]; then
    echo "== sidik eval $data  (FVC protocol on 320 real ISO 19794-2 templates)"
    "$build/bin/sidik" eval "$data"
else
    echo "(no FVC2002 templates at $data: skipping sidik eval)"
fi
echo
# sidikd with its embedded defaults (data and dev PKI in ./var), and a stock
# Python gRPC client showing mutual TLS and the role check at work.
src=$(cd "$(dirname "$0")/.." && pwd)
[ -f var/pki/ca.crt ] || { echo "== deploy/pki.sh var/pki  (a development CA and certificates)"; sh "$src/deploy/pki.sh" var/pki >/dev/null; }
[ -f var/pki/office-SBY-03.crt ] || sh "$src/deploy/pki.sh" var/pki client office SBY-03 --expired >/dev/null
[ -f var/pki-foreign/ca.crt ] || sh "$src/deploy/pki.sh" var/pki-foreign client office JKT-01 >/dev/null
printf 'listen = 127.0.0.1:0\n' > var/demo.conf
echo "== sidikd --config var/demo.conf  (TLS 1.3, mutual certificates, gRPC over HTTP/2)"
"$build/bin/sidikd" --config var/demo.conf 2> var/sidikd.log &
pid=$!
port=
for i in $(seq 1 100); do
    port=$(grep -o 'msg="listening".*port=[0-9]*' var/sidikd.log 2>/dev/null | grep -o 'port=[0-9]*' | cut -d= -f2)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -f var/demo-gen/records.iso ] || "$build/bin/sidik" gen --persons 8 --reenroll-rate 0 --out var/demo-gen >/dev/null 2>&1
echo "listening on 127.0.0.1:$port; a Python grpcio client uploads enrollments, resends,"
echo "queries their status and calls as several roles:"
rc=0
/usr/bin/python3 "$src/tests/integration/grpc_interop.py" "$src/proto" var/pki var/pki-foreign "$port" \
    var/demo-gen/records.iso var/demo-state.json 2>/dev/null || rc=$?
kill -TERM "$pid"; wait "$pid"
echo
echo "Enrollments are received durably and answered; deduplication and print"
echo "authorisation are not wired in yet (those services answer UNIMPLEMENTED, as shown)."
echo "See README.md for what works today. Log: var/sidikd.log"
exit $rc
